"""The business calendar in the dashboard: the loud missing-year warning, staff edits, re-sync."""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core import checks
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from aftersales.cases import calendar
from aftersales.cases.models import BusinessDay

from .conftest import form_data

pytestmark = pytest.mark.django_db


def fill_year(year: int) -> None:
    day = date(year, 1, 1)
    rows = []
    while day.year == year:
        rows.append(BusinessDay(date=day, is_working=day.weekday() < 5, source="staff"))
        day += timedelta(1)
    BusinessDay.objects.bulk_create(rows, ignore_conflicts=True)


@pytest.fixture
def next_year_missing():
    this_year = timezone.localdate().year
    fill_year(this_year)
    BusinessDay.objects.filter(date__year=this_year + 1).delete()
    assert calendar.missing_years() == [this_year + 1]
    return this_year + 1


@pytest.fixture
def all_years_present():
    this_year = timezone.localdate().year
    fill_year(this_year)
    fill_year(this_year + 1)
    assert calendar.missing_years() == []


def test_the_index_warns_loudly_when_next_year_is_missing(client, agent, next_year_missing):
    client.force_login(agent)
    page = client.get(reverse("admin:index")).text
    assert 'id="calendar-warning"' in page
    assert str(next_year_missing) in page
    assert "sync_business_calendar" in page
    assert "ask a supervisor" in page  # agents cannot edit the calendar themselves


def test_a_supervisor_gets_a_link_to_the_calendar_in_the_warning(client, supervisor, next_year_missing):
    client.force_login(supervisor)
    page = client.get(reverse("admin:index")).text
    assert 'id="calendar-warning"' in page
    assert f'href="{reverse("admin:cases_businessday_changelist")}"' in page


def test_the_index_has_no_warning_when_every_year_is_present(client, agent, all_years_present):
    client.force_login(agent)
    page = client.get(reverse("admin:index")).text
    assert 'id="calendar-warning"' not in page


def test_the_calendar_page_repeats_the_warning(client, supervisor, next_year_missing):
    client.force_login(supervisor)
    response = client.get(reverse("admin:cases_businessday_changelist"), {"year": str(next_year_missing - 1)})
    assert response.status_code == 200
    assert 'id="calendar-warning"' in response.text


def test_the_system_check_warns_about_a_missing_year(next_year_missing):
    messages = checks.run_checks(tags=["cases"])
    assert [m.id for m in messages] == ["cases.W001"]
    assert str(next_year_missing) in messages[0].msg


def test_the_system_check_is_quiet_when_every_year_is_present(all_years_present):
    assert checks.run_checks(tags=["cases"]) == []


def test_the_sync_command_reports_what_it_wrote_and_what_is_missing(next_year_missing):
    out, err = StringIO(), StringIO()
    call_command("sync_business_calendar", "--year", "2026", stdout=out, stderr=err)
    assert "Wrote" in out.getvalue()
    assert str(next_year_missing) in err.getvalue()
    assert BusinessDay.objects.filter(date__year=2026, source="chinesecalendar").count() >= 300


def test_a_supervisor_edit_marks_the_day_as_staff_and_survives_a_resync(client, supervisor):
    day = BusinessDay.objects.get(date=date(2026, 3, 9))  # an ordinary Monday
    assert (day.is_working, day.source) == (True, "chinesecalendar")
    client.force_login(supervisor)
    url = reverse("admin:cases_businessday_change", args=["2026-03-09"])
    page = client.get(url).text
    assert 'name="source"' not in page  # set by the dashboard, not typed
    assert 'name="date"' not in page  # the key of the row
    data = form_data(page, "businessday_form")
    data.pop("is_working", None)  # untick "working day"
    data["name"] = "Shop closed for stocktaking"
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    day.refresh_from_db()
    assert (day.is_working, day.name, day.source) == (False, "Shop closed for stocktaking", "staff")

    calendar.sync_from_chinesecalendar()
    day.refresh_from_db()
    assert (day.is_working, day.source) == (False, "staff")
    assert not calendar.is_business_day(date(2026, 3, 9))


def test_a_supervisor_adds_a_day_as_staff(client, supervisor):
    client.force_login(supervisor)
    response = client.post(
        reverse("admin:cases_businessday_add"),
        {"date": "2031-02-01", "is_working": "on", "name": "Make-up working day", "source": "chinesecalendar"},
    )
    assert response.status_code == 302
    assert BusinessDay.objects.get(date=date(2031, 2, 1)).source == "staff"


def test_the_resync_action_calls_chinesecalendar_and_keeps_staff_days(client, supervisor):
    BusinessDay.objects.filter(date=date(2026, 3, 9)).update(is_working=False, source="staff")
    BusinessDay.objects.filter(date=date(2026, 3, 10)).delete()  # a day lost somehow
    client.force_login(supervisor)
    response = client.post(
        reverse("admin:cases_businessday_changelist"),
        {"action": "resync_from_chinesecalendar", "_selected_action": ["2026-03-11"]},
        follow=True,
    )
    assert response.status_code == 200
    assert any("written from chinesecalendar" in str(m) for m in response.context["messages"])
    assert BusinessDay.objects.get(date=date(2026, 3, 10)).source == "chinesecalendar"
    assert BusinessDay.objects.get(date=date(2026, 3, 9)).source == "staff"


def test_an_agent_sees_no_business_calendar(client, agent):
    client.force_login(agent)
    assert client.get(reverse("admin:cases_businessday_changelist")).status_code == 403
