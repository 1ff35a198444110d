"""Business days and business hours on the shop's calendar (seeded from chinesecalendar)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aftersales.cases import calendar
from aftersales.cases.models import BusinessDay

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def test_spring_festival_2026_is_not_business_days():
    # The 2026 Spring Festival holiday runs 15–23 February; Saturday 14 February is a make-up day.
    for day in range(15, 24):
        assert not calendar.is_business_day(date(2026, 2, day)), day
    assert calendar.is_business_day(date(2026, 2, 24))


def test_make_up_saturday_counts_as_a_business_day():
    saturday = date(2026, 2, 14)
    assert saturday.weekday() == 5
    assert calendar.is_business_day(saturday)
    assert calendar.add_business_days(date(2026, 2, 13), 1) == saturday


def test_adding_business_days_across_the_spring_festival():
    # Friday 13 Feb + 5 business days: Sat 14 (make-up), then the holiday, then Tue 24 … Fri 27.
    assert calendar.add_business_days(date(2026, 2, 13), 5) == date(2026, 2, 27)
    assert calendar.business_days_between(date(2026, 2, 13), date(2026, 2, 27)) == 5


def test_ordinary_weekend_is_skipped():
    assert calendar.add_business_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Fri → Mon
    assert calendar.add_business_days(date(2026, 3, 6), 0) == date(2026, 3, 6)


def test_business_hours_skip_lunch_nights_and_holidays(settings):
    settings.BUSINESS_HOURS = "09:00-12:00,13:30-18:00"
    # Friday 13 Feb 17:30 + 1 business hour: 30 min on Friday, 30 min on the make-up Saturday.
    start = datetime(2026, 2, 13, 17, 30, tzinfo=SH)
    assert calendar.add_business_time(start, timedelta(hours=1)) == datetime(2026, 2, 14, 9, 30, tzinfo=SH)
    # Saturday 11:30 + 1 hour: 30 min before lunch, 30 min after.
    start = datetime(2026, 2, 14, 11, 30, tzinfo=SH)
    assert calendar.add_business_time(start, timedelta(hours=1)) == datetime(2026, 2, 14, 14, 0, tzinfo=SH)
    # Saturday 17:00 + 2 hours: the festival holiday passes, work resumes Tuesday 24 Feb.
    start = datetime(2026, 2, 14, 17, 0, tzinfo=SH)
    assert calendar.add_business_time(start, timedelta(hours=2)) == datetime(2026, 2, 24, 10, 0, tzinfo=SH)
    assert calendar.business_time_between(start, datetime(2026, 2, 24, 10, 0, tzinfo=SH)) == timedelta(hours=2)


def test_staff_edit_wins_over_the_library_and_survives_a_resync():
    BusinessDay.objects.filter(date=date(2026, 3, 9)).update(is_working=False, source="staff", name="Shop closed")
    calendar.sync_from_chinesecalendar([2026])
    assert not calendar.is_business_day(date(2026, 3, 9))
    assert BusinessDay.objects.get(date=date(2026, 3, 9)).source == "staff"


def test_missing_next_year_is_reported_loudly(caplog):
    assert calendar.missing_years(date(2026, 11, 23)) == [2027]
    assert calendar.warn_if_years_missing(date(2026, 11, 23)) == [2027]
    assert "no data for 2027" in caplog.text
    assert calendar.missing_years(date(2025, 6, 1)) == []


def test_dates_without_rows_fall_back_to_weekdays():
    assert calendar.is_business_day(date(2031, 1, 6))  # a Monday the calendar has no row for
    assert not calendar.is_business_day(date(2031, 1, 5))
