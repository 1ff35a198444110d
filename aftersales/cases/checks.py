"""System checks for the cases app: `manage.py check` (and runserver, migrate) say loudly when the
business calendar lacks this year or the next."""

from django.core.checks import Warning, register
from django.db import DatabaseError


@register("cases")
def check_business_calendar_years(app_configs=None, **kwargs):
    from .calendar import missing_years

    try:
        missing = missing_years()
    except DatabaseError:
        # Before `migrate` the table does not exist; migrating seeds it, so there is nothing to say.
        return []
    if not missing:
        return []
    years = ", ".join(str(year) for year in missing)
    return [
        Warning(
            f"The business calendar has no days for {years}: holidays and make-up working days (调休) are "
            "unknown there, so Monday–Friday is assumed for deadlines and SLA clocks.",
            hint=(
                "Upgrade chinesecalendar and run `manage.py sync_business_calendar`, or enter the days in the "
                "dashboard's business calendar."
            ),
            id="cases.W001",
        )
    ]
