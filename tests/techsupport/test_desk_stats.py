"""The SLA statistics page (R-SUP-3): per agent and per team over a period, checked against an
independent count of the same tickets, and its CSV download."""

import csv
import io
import statistics
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aftersales.cases.calendar import business_time_between
from aftersales.cases.deadlines import sweep_due_deadlines
from techsupport.models import Channel, SlaAlert, SlaFlag, SlaPolicy, Ticket
from techsupport.services import tickets
from tests import factories
from tests.techsupport.conftest import at

pytestmark = pytest.mark.django_db
STATS = reverse("admin:techsupport_ticket_stats")
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}


@pytest.fixture
def march(open_ticket, agent, technician, customer, teams, time_machine):
    """Six tickets around March 2026 (first response 60, resolution 480 business minutes):
    T0 opened in February and resolved in March; T1 answered and resolved on time; T2 answered
    late, its resolution then breached; T3 escalated and answered by the technician; T4 never
    answered (all three alert levels fire); T5 logged by phone and not swept."""
    SlaPolicy.objects.create(name="Standard", first_response_minutes=60, resolution_minutes=480)
    _first, technical = teams

    def travel(moment):
        time_machine.move_to(moment, tick=False)

    travel(at(2026, 2, 26, 10, 0))
    t0 = open_ticket(subject="T0")
    travel(at(2026, 2, 26, 10, 20))
    tickets.reply(case=t0, actor=agent, body="Try this")
    travel(at(2026, 3, 2, 9, 0))
    t1 = open_ticket(subject="T1")
    travel(at(2026, 3, 2, 9, 30))
    tickets.resolve(case=t0, actor=agent)
    tickets.reply(case=t1, actor=agent, body="Answer")  # 30 business minutes
    travel(at(2026, 3, 2, 10, 0))
    t2 = open_ticket(subject="T2")
    travel(at(2026, 3, 2, 11, 0))
    tickets.resolve(case=t1, actor=agent)
    travel(at(2026, 3, 2, 13, 40))
    tickets.reply(case=t2, actor=agent, body="Late answer")  # 2 h before lunch + 10 min after: 130
    travel(at(2026, 3, 3, 9, 0))
    t3 = open_ticket(subject="T3")
    travel(at(2026, 3, 3, 9, 5))
    tickets.escalate(case=t3, actor=agent, reason="Firmware", team=technical, assignee=technician)
    travel(at(2026, 3, 3, 9, 10))
    tickets.reply(case=t3, actor=technician, body="Technical answer")  # 10 minutes
    travel(at(2026, 3, 3, 10, 0))
    t4 = open_ticket(subject="T4")
    travel(at(2026, 3, 3, 12, 30))
    sweep_due_deadlines()
    travel(at(2026, 3, 4, 10, 0))
    t5 = tickets.open_ticket(
        customer=customer, actor=agent, subject="T5", body="Phoned", category="usage", channel=Channel.PHONE
    )
    travel(at(2026, 3, 4, 11, 0))
    return [t0, t1, t2, t3, t4, t5]


def independent_count(group_of, start: date, end: date) -> dict:
    """The figures counted ticket by ticket, the plain way."""
    tz = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=tz)
    until = datetime.combine(end + timedelta(1), time.min, tzinfo=tz)
    rows: dict = {}
    answered_times: dict = {}
    for ticket in Ticket.objects.select_related("case__assignee", "team"):
        row = rows.setdefault(
            group_of(ticket),
            dict.fromkeys(("opened", "resolved", "fr", "fr_ok", "res", "res_ok", "open", "breached"), 0),
        )
        opened_in = since <= ticket.case.opened_at < until
        if opened_in:
            row["opened"] += 1
            if ticket.first_responded_at or ticket.first_response_breached:
                row["fr"] += 1
                row["fr_ok"] += bool(ticket.first_responded_at and not ticket.first_response_breached)
            if ticket.first_responded_at:
                answered_times.setdefault(group_of(ticket), []).append(
                    business_time_between(ticket.case.opened_at, ticket.first_responded_at)
                )
            if ticket.resolution_minutes and (ticket.resolved_at or ticket.resolution_breached):
                row["res"] += 1
                row["res_ok"] += bool(ticket.resolved_at and not ticket.resolution_breached)
        if ticket.resolved_at and since <= ticket.resolved_at < until:
            row["resolved"] += 1
        if ticket.case.status in ("new", "open", "waiting_on_customer"):
            row["open"] += 1
            row["breached"] += ticket.sla_flag == SlaFlag.BREACHED
    for alert in SlaAlert.objects.select_related("ticket__case__assignee", "ticket__team"):
        if since <= alert.at < until:
            row = rows[group_of(alert.ticket)]
            row[f"level{alert.level}"] = row.get(f"level{alert.level}", 0) + 1
    for key, times in answered_times.items():
        rows[key]["median"] = round(statistics.median(times).total_seconds() / 60)
    return rows


def as_counted(row) -> dict:
    figures = {
        "opened": row.opened,
        "resolved": row.resolved,
        "fr": row.first_counted,
        "fr_ok": row.first_on_time,
        "res": row.resolution_counted,
        "res_ok": row.resolution_on_time,
        "open": row.open_now,
        "breached": row.breached_now,
    }
    figures.update({f"level{level}": n for level, n in row.breaches.items() if n})
    if row.median_first_response_minutes is not None:
        figures["median"] = row.median_first_response_minutes
    return figures


def test_the_figures_match_an_independent_count(client, agent, technician, teams, march):
    client.force_login(agent)
    response = client.get(STATS, MARCH)
    assert response.status_code == 200
    result = response.context["result"]

    by_agent = independent_count(lambda t: str(t.case.assignee) if t.case.assignee else "Unassigned", *march_dates())
    assert {row.label: as_counted(row) for row in result.agents} == by_agent
    by_team = independent_count(lambda t: t.team.name, *march_dates())
    assert {row.label: as_counted(row) for row in result.teams} == by_team

    # And the figures the scenario was written for.
    mine = next(row for row in result.agents if row.label == str(agent))
    assert (mine.opened, mine.resolved, mine.first_response_compliance, mine.resolution_compliance) == (2, 2, 50, 50)
    assert mine.median_first_response_minutes == 80  # the median of 30 and 130
    assert mine.breaches_by_level == [1, 1, 1]  # T2's resolution
    assert (mine.open_now, mine.breached_now) == (1, 1)
    theirs = next(row for row in result.agents if row.label == str(technician))
    assert (theirs.opened, theirs.first_response_compliance, theirs.median_first_response_minutes) == (1, 100, 10)
    nobody = next(row for row in result.agents if row.label == "Unassigned")
    assert (nobody.opened, nobody.first_response_compliance, nobody.breaches_by_level) == (2, 0, [1, 1, 1])
    total = result.total
    assert (total.opened, total.resolved, total.first_response_compliance, total.resolution_compliance) == (
        5,
        2,
        50,
        50,
    )
    assert total.median_first_response_minutes == 30  # of 30, 130 and 10
    assert (total.breaches_by_level, total.open_now, total.breached_now) == ([2, 2, 2], 4, 2)
    assert "SLA statistics" in response.text and 'id="stats-csv"' in response.text


def march_dates():
    return date(2026, 3, 1), date(2026, 3, 31)


def test_february_sees_only_its_own_ticket(client, agent, march):
    client.force_login(agent)
    result = client.get(STATS, {"start": "2026-02-01", "end": "2026-02-28"}).context["result"]
    assert (result.total.opened, result.total.resolved, result.total.median_first_response_minutes) == (1, 0, 20)
    assert result.total.open_now == 4  # "now" is the queue as it stands, whatever the period


def test_the_default_period_is_the_last_30_days_and_bad_dates_fall_back_to_it(client, agent, march):
    client.force_login(agent)
    response = client.get(STATS)
    result = response.context["result"]
    assert (result.start, result.end) == (date(2026, 2, 3), date(2026, 3, 4))
    response = client.get(STATS, {"start": "2026-03-31", "end": "2026-03-01"})
    assert "The period ends before it starts." in response.text
    assert (response.context["result"].start, response.context["result"].end) == (date(2026, 2, 3), date(2026, 3, 4))


def test_the_csv_download_carries_the_same_table(client, agent, march):
    client.force_login(agent)
    page = client.get(STATS, MARCH)
    response = client.get(STATS, {**MARCH, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="sla-20260301-20260331.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == page.context["header"]
    assert rows[1:] == [[str(value) for value in row] for row in page.context["rows"]]
    assert rows[-1][:4] == ["All", "All tickets", "5", "2"]
    assert rows[-1][4:6] == ["50.0", "50.0"]


def test_the_statistics_take_the_same_queries_for_more_tickets(client, agent, customer, teams, march):
    client.force_login(agent)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(STATS, MARCH).status_code == 200
        return len(captured.captured_queries)

    before = queries()
    for n in range(5):
        case = tickets.open_ticket(
            customer=factories.CustomerFactory(), subject=f"More {n}", body="?", category="usage"
        )
        tickets.reply(case=case, actor=agent, body="Answer")
    assert queries() == before
