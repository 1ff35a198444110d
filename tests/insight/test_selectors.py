"""The insight figures (R-FB-2) against counts made by hand from the March 2026 dataset (conftest)."""

import statistics
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from aftersales.cases.models import Case, CaseKind
from aftersales.insight import selectors
from aftersales.insight.selectors import Filters
from tests import factories

from .conftest import MARCH, at

pytestmark = pytest.mark.django_db


def test_buckets_are_days_up_to_a_month_and_weeks_beyond():
    assert len(MARCH.buckets()) == 31 and not MARCH.weekly
    quarter = Filters(start=date(2026, 1, 1), end=date(2026, 4, 1))
    assert quarter.weekly
    assert quarter.buckets()[0] == date(2025, 12, 29)  # the Monday of the first week
    assert all(b.weekday() == 0 for b in quarter.buckets())


def test_case_volumes_count_cases_opened_in_the_period(world):
    expected = {}
    for case in Case.objects.all():
        day = case.opened_at.astimezone(at(1).tzinfo).date()
        if MARCH.start <= day < MARCH.end:
            expected[(day, case.kind)] = expected.get((day, case.kind), 0) + 1
    rows = selectors.case_volumes(MARCH)
    assert {(r.bucket, r.kind): r.count for r in rows} == expected
    assert sum(r.count for r in rows) == 10  # r1–r4, w1, t1–t4, pp1 — the February r0 and t0 are out
    weekly = selectors.case_volumes(replace(MARCH, start=date(2026, 2, 1)))
    assert sum(r.count for r in weekly) == 12
    assert all(r.bucket.weekday() == 0 for r in weekly)


def test_case_volumes_by_kind_and_product(world):
    assert {r.kind for r in selectors.case_volumes(replace(MARCH, kind="ticket"))} == {"ticket"}
    p1 = replace(MARCH, product=world.products["p1"])
    # r1 and r4 return P1, t1 asks about it, pp1's claim line is P1's
    names = {c.number for c in selectors.cases(p1)}
    assert names == {world.cases[n].number for n in ("r1", "r4", "r0", "t1", "pp1")}
    assert sum(r.count for r in selectors.case_volumes(p1)) == 4
    phones = replace(MARCH, category=world.products["p1"].category)  # includes its sub-category's P2
    assert sum(r.count for r in selectors.case_volumes(phones)) == 5  # r1, r2, r4, t1, pp1
    acme = replace(MARCH, brand=world.products["p3"].brand)  # P1 and P3
    assert sum(r.count for r in selectors.case_volumes(acme)) == 7  # r1, r3, r4, w1, t1, t2, pp1


def test_case_reasons(world):
    rows = {(r.kind, r.reason): r.count for r in selectors.case_reasons(MARCH)}
    assert rows == {
        ("return", "quality"): 3,  # r1, r3 (an exchange is a return request too), r4
        ("return", "no_reason"): 1,
        ("warranty", "battery"): 1,
        ("ticket", "usage"): 1,
        ("ticket", "fault"): 2,
        ("ticket", "complaint"): 1,
    }
    labels = {r.reason: r.label for r in selectors.case_reasons(MARCH)}
    assert labels["battery"] == "Battery or charging"


def test_return_rates(world):
    rows = selectors.return_rates(MARCH)
    # sold in March: P1 4 (o1), P2 2 (o1; o4 was cancelled), P3 1 (o2). Returned: P1 2 (r1) + 1 (r4, its
    # order is February's); P2's r2 was rejected; P3's r3 is an exchange.
    assert [(r.sku, r.sold, r.returned, r.rate) for r in rows] == [
        ("P1", 4, 3, Decimal("0.7500")),
        ("P2", 2, 0, Decimal("0.0000")),
        ("P3", 1, 0, Decimal("0.0000")),
    ]
    assert [r.sku for r in selectors.return_rates(MARCH, top=1)] == ["P1"]
    assert [r.sku for r in selectors.return_rates(replace(MARCH, brand=world.products["p2"].brand))] == ["P2"]


def test_resolution_times(world):
    closed = {}
    for case in Case.objects.filter(closed_at__gte=at(1, 0), closed_at__lt=at(1, 0, month=4)):
        closed.setdefault(case.kind, []).append((case.closed_at - case.opened_at).total_seconds() / 3600)
    rows = {r.kind: r for r in selectors.resolution_times(MARCH)}
    assert set(rows) == set(closed) == {"return", "warranty", "ticket"}
    for kind, hours in closed.items():
        assert rows[kind].count == len(hours)
        assert rows[kind].median_hours == Decimal(str(statistics.median(hours))).quantize(Decimal("0.1"))
    assert rows["return"].median_hours == Decimal("48.0")  # r1 72 h, r2 24 h
    assert rows["return"].p90_hours == Decimal("67.2")  # 24 + 0.9 × 48
    assert rows["warranty"].p90_hours == Decimal("288.0")


@pytest.mark.postgres
def test_percentiles_in_sql_are_those_computed_in_python(world):
    """PostgreSQL's percentile_cont and `percentile` give the very same doubles, not merely close ones."""
    for n in range(1, 14):
        case = factories.open_case(kind=CaseKind.WARRANTY if n % 3 else CaseKind.TICKET)
        closed = at(1) + timedelta(hours=7.3 * n, seconds=13 * n, microseconds=999 * n)
        Case.objects.filter(pk=case.pk).update(opened_at=at(1), closed_at=closed)
    closed = Case.objects.filter(closed_at__isnull=False).order_by()
    in_sql = sorted(selectors._percentiles_in_sql(closed))
    assert in_sql == sorted(selectors._percentiles_in_python(closed))
    assert [kind for kind, *_ in in_sql] == ["return", "ticket", "warranty"]


def test_percentile_matches_percentile_cont():
    assert selectors.percentile([1.0], 0.9) == 1.0
    assert selectors.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert selectors.percentile([10.0, 0.0], 0.9) == 9.0


def test_sla_compliance(world):
    rows = selectors.sla_compliance(MARCH)
    assert len(rows) == 31
    total_on_time = sum(r.on_time for r in rows)
    total_counted = sum(r.counted for r in rows)
    assert (total_on_time, total_counted) == (1, 3)  # t1 on time; t2 answered late, t4 breached; t3 not counted
    by_day = {r.bucket: r for r in rows if r.counted}
    assert by_day[date(2026, 3, 2)].percent == Decimal("100.0")
    assert by_day[date(2026, 3, 9)].percent == Decimal("0.0")
    assert selectors.sla_compliance(replace(MARCH, kind="return"))[1].counted == 0


def test_refund_totals(world):
    rows = {(r.by, r.key): (r.count, r.total) for r in selectors.refund_totals(MARCH)}
    paid = [r for r in world.refunds if r.state == "succeeded" and r.paid_at < at(1, 0, month=4)]
    assert sum(total for (by, _k), (_n, total) in rows.items() if by == "source") == sum(r.amount for r in paid)
    assert rows == {
        ("source", "return"): (1, Decimal("200.00")),
        ("source", "goodwill"): (1, Decimal("20.00")),
        ("destination", "original_payment"): (1, Decimal("200.00")),
        ("destination", "balance"): (1, Decimal("20.00")),
    }
    # a kind filter keeps only refunds of cases of that kind: the goodwill refund has none
    assert {r.key for r in selectors.refund_totals(replace(MARCH, kind="return"))} == {"return", "original_payment"}


def test_price_protection_totals(world):
    [row] = selectors.price_protection_totals(MARCH)
    assert (row.destination, row.count, row.compensated, row.revoked, row.net) == (
        "coupon",
        1,
        Decimal("40.00"),
        Decimal("10.00"),
        Decimal("30.00"),
    )
    assert selectors.price_protection_totals(replace(MARCH, product=world.products["p3"])) == []


def test_satisfaction_trend_and_lowest_reasons(world):
    rows = selectors.satisfaction_trend(MARCH)
    rated = [r for r in rows if r.count]
    assert sum(r.count for r in rows) == 4
    assert {r.bucket: r.average for r in rated} == {
        date(2026, 3, 6): Decimal("1.00"),
        date(2026, 3, 7): Decimal("5.00"),
        date(2026, 3, 11): Decimal("3.00"),
        date(2026, 3, 21): Decimal("2.00"),
    }
    reasons = selectors.lowest_rated_reasons(MARCH)
    assert [(r.reason, r.count, r.average) for r in reasons] == [
        ("policy", 1, Decimal("1.00")),
        ("outcome", 2, Decimal("2.50")),
        ("speed", 1, Decimal("5.00")),
    ]
    weekly = selectors.satisfaction_trend(replace(MARCH, start=date(2026, 2, 1)))
    assert sum(r.count for r in weekly) == 5
    assert selectors.satisfaction_trend(replace(MARCH, kind="ticket"))[10].count == 1


def test_empty_period_gives_empty_rows(db):
    empty = Filters(start=date(2030, 1, 1), end=date(2030, 1, 1) + timedelta(days=7))
    assert selectors.case_volumes(empty) == []
    assert selectors.return_rates(empty) == []
    assert selectors.resolution_times(empty) == []
    assert all(r.counted == 0 for r in selectors.sla_compliance(empty))
    assert selectors.refund_totals(empty) == []
