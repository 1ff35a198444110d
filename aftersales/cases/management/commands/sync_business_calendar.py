"""Refresh the business calendar from the installed chinesecalendar, then report missing years."""

from django.core.management.base import BaseCommand

from aftersales.cases import calendar


class Command(BaseCommand):
    help = (
        "Write every day of the years the installed chinesecalendar knows into the business calendar "
        "(days edited by staff are kept), then warn about this year or the next if they are still missing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--year", type=int, action="append", dest="years", help="Only this year (repeatable). Default: all."
        )

    def handle(self, *args, years=None, **options):
        known = calendar.known_library_years()
        if years:
            unknown = sorted(set(years) - set(known))
            if unknown:
                self.stderr.write(
                    self.style.WARNING(
                        f"chinesecalendar does not know {', '.join(map(str, unknown))}; upgrade it first."
                    )
                )
            years = sorted(set(years) & set(known))
            if not years:
                return
        written = calendar.sync_from_chinesecalendar(years or None)
        span = f"{min(years or known)}–{max(years or known)}" if known else "no years"
        self.stdout.write(self.style.SUCCESS(f"Wrote {written} days from chinesecalendar ({span})."))
        missing = calendar.warn_if_years_missing()
        if missing:
            self.stderr.write(
                self.style.WARNING(
                    f"The business calendar still has no days for {', '.join(map(str, missing))}. "
                    "Upgrade chinesecalendar (pip install -U chinesecalendar) and run this command again, or "
                    "enter the days in the dashboard's business calendar."
                )
            )
        else:
            self.stdout.write("This year and next year are in the business calendar.")
