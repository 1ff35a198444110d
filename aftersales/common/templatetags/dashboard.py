"""Template tags for the staff dashboard (the Django admin)."""

from django import template
from django.db import DatabaseError

register = template.Library()


@register.simple_tag
def calendar_missing_years() -> list[int]:
    """Years (this one and the next) for which the business calendar has no day at all."""
    from aftersales.cases.calendar import missing_years

    try:
        return missing_years()
    except DatabaseError:  # the table does not exist yet (before migrate): nothing to warn about
        return []
