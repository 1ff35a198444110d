"""The shop's business calendar: business days and business hours.

Working days are Monday–Friday minus public holidays plus official make-up working days (调休),
as stored in `BusinessDay` (seeded from chinesecalendar, editable by staff). A date without a row
falls back to Monday–Friday; years without rows are reported loudly (dashboard, log, system check).
"""

import logging
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from django.conf import settings
from django.utils import timezone

from .models import BusinessDay

log = logging.getLogger(__name__)


def _is_weekday(day: date) -> bool:
    return day.weekday() < 5


def working_days_map(start: date, end: date) -> dict[date, bool]:
    """{date: is_working} for every date in [start, end], stored rows first, weekdays otherwise."""
    stored = dict(BusinessDay.objects.filter(date__gte=start, date__lte=end).values_list("date", "is_working"))
    return {
        start + timedelta(n): stored.get(start + timedelta(n), _is_weekday(start + timedelta(n)))
        for n in range((end - start).days + 1)
    }


def is_business_day(day: date) -> bool:
    return working_days_map(day, day)[day]


def add_business_days(start: date, days: int) -> date:
    """The date `days` business days after `start` (start itself not counted; days >= 0)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    if days == 0:
        return start
    horizon = days * 2 + 30  # wide enough for the Spring Festival and Golden Week
    while True:
        days_map = working_days_map(start + timedelta(1), start + timedelta(horizon))
        left = days
        for day in sorted(days_map):
            if days_map[day]:
                left -= 1
                if left == 0:
                    return day
        horizon *= 2


def business_days_between(start: date, end: date) -> int:
    """Business days in (start, end]: how many working days passed from `start` to `end`."""
    if end <= start:
        return 0
    return sum(working_days_map(start + timedelta(1), end).values())


@lru_cache(maxsize=8)
def _parse_hours(spec: str) -> tuple[tuple[time, time], ...]:
    ranges = []
    for part in spec.split(","):
        begin, end = (time.fromisoformat(t.strip()) for t in part.split("-"))
        if end <= begin:
            raise ValueError(f"BUSINESS_HOURS range {part!r} ends before it starts")
        ranges.append((begin, end))
    return tuple(sorted(ranges))


def working_hours() -> tuple[tuple[time, time], ...]:
    return _parse_hours(settings.BUSINESS_HOURS)


def _day_windows(day: date, tz) -> list[tuple[datetime, datetime]]:
    return [
        (datetime.combine(day, begin, tzinfo=tz), datetime.combine(day, end, tzinfo=tz))
        for begin, end in working_hours()
    ]


def add_business_time(start: datetime, amount: timedelta) -> datetime:
    """The moment when `amount` of working time has passed after `start` (SLA targets)."""
    tz = timezone.get_current_timezone()
    cursor = timezone.localtime(start, tz)
    left = amount
    day = cursor.date()
    while True:
        days_map = working_days_map(day, day + timedelta(60))
        for d in sorted(days_map):
            if not days_map[d]:
                continue
            for begin, end in _day_windows(d, tz):
                if end <= cursor:
                    continue
                begin = max(begin, cursor)
                if left <= end - begin:
                    return begin + left
                left -= end - begin
        day += timedelta(61)


def business_time_between(start: datetime, end: datetime) -> timedelta:
    """Working time elapsed between two moments (zero if end <= start)."""
    if end <= start:
        return timedelta(0)
    tz = timezone.get_current_timezone()
    start, end = timezone.localtime(start, tz), timezone.localtime(end, tz)
    total = timedelta(0)
    for d, working in working_days_map(start.date(), end.date()).items():
        if working:
            for begin, finish in _day_windows(d, tz):
                overlap = min(finish, end) - max(begin, start)
                if overlap > timedelta(0):
                    total += overlap
    return total


# --- Seeding from chinesecalendar and watching for missing years ---------------------------


def known_library_years() -> list[int]:
    from chinese_calendar import constants

    return sorted({d.year for d in constants.holidays} | {d.year for d in constants.workdays})


def sync_from_chinesecalendar(years: list[int] | None = None, model=BusinessDay) -> int:
    """Write one row per day of each year the library knows; rows edited by staff are kept."""
    import chinese_calendar

    years = years or known_library_years()
    kept = set(model.objects.filter(source="staff", date__year__in=years).values_list("date", flat=True))
    rows = []
    for year in years:
        day = date(year, 1, 1)
        while day.year == year:
            if day not in kept:
                is_holiday, holiday = chinese_calendar.get_holiday_detail(day)
                working = not is_holiday
                name = ""
                if holiday:
                    chinese = {h.value: h.chinese for h in chinese_calendar.Holiday}.get(holiday, "")
                    name = f"{holiday} {chinese}".strip() + (" (make-up working day 调休)" if working else "")
                    name = name[: model._meta.get_field("name").max_length]  # PostgreSQL enforces it
                rows.append(model(date=day, is_working=working, name=name, source="chinesecalendar"))
            day += timedelta(1)
    model.objects.filter(source="chinesecalendar", date__year__in=years).delete()
    model.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def missing_years(today: date | None = None) -> list[int]:
    """This year and next year, where the calendar has no row at all."""
    today = today or timezone.localdate()
    wanted = [today.year, today.year + 1]
    have = {y for y in wanted if BusinessDay.objects.filter(date__year=y).exists()}
    return [y for y in wanted if y not in have]


def warn_if_years_missing(today: date | None = None) -> list[int]:
    missing = missing_years(today)
    for year in missing:
        log.warning(
            "The business calendar has no data for %d: holidays and make-up working days are unknown, "
            "so Monday–Friday is assumed. Upgrade chinesecalendar and run `manage.py sync_business_calendar`, "
            "or enter the year's days in the dashboard.",
            year,
        )
    return missing
