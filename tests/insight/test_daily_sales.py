"""The units sold per product and day (aftersales.insight.rollup): the return-rate figures are the same
whether the hourly task has run or not, and stay the same when orders change after it ran."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from aftersales.insight import rollup, selectors, tasks
from aftersales.insight.models import DailySales, OrderChange, SalesRollup
from aftersales.orders.models import Order, OrderLine
from tests import factories

from .conftest import MARCH, at

pytestmark = pytest.mark.django_db

APRIL_1 = date(2026, 4, 1)
TRIGGERS = {"insight_order_changed", "insight_order_deleted", "insight_line_changed"}


def live(filters) -> list:
    """The figures with no pre-aggregate at all."""
    SalesRollup.objects.all().delete()
    return selectors.return_rates(filters)


def rates(filters) -> list[tuple]:
    return [(r.sku, r.sold, r.returned, r.rate) for r in selectors.return_rates(filters)]


def test_the_triggers_are_there():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'insight_%%'")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'insight_%'")
        names = {name for (name,) in cursor.fetchall()}
    expected = {"insight_line_written"} if connection.vendor == "postgresql" else {"insight_line_inserted"}
    if connection.vendor != "postgresql":
        expected.add("insight_line_deleted")
    assert names == TRIGGERS | expected


def test_the_rolled_up_figures_are_the_live_ones(world):
    expected = rates(MARCH)
    assert rollup.roll_up(today=APRIL_1) == 3  # the days with sales: 20 Feb, 2 and 5 March
    assert OrderChange.objects.count() == 0
    assert {(d.day, d.product.sku, d.units) for d in DailySales.objects.all()} == {
        (date(2026, 2, 20), "P1", 1),
        (date(2026, 3, 2), "P1", 4),
        (date(2026, 3, 2), "P2", 2),
        (date(2026, 3, 5), "P3", 1),
    }  # o4, cancelled, is not there
    assert (
        rates(MARCH)
        == expected
        == [
            ("P1", 4, 3, Decimal("0.7500")),
            ("P2", 2, 0, Decimal("0.0000")),
            ("P3", 1, 0, Decimal("0.0000")),
        ]
    )
    acme = replace(MARCH, brand=world.products["p1"].brand)
    assert rates(acme) == [("P1", 4, 3, Decimal("0.7500")), ("P3", 1, 0, Decimal("0.0000"))]
    # A period that runs past the last day counted reads the rest from the order lines.
    factories.order_with_lines(placed_at=at(2, month=4), lines=((Decimal("100.00"), 2),))
    assert sum(r.sold for r in selectors.return_rates(replace(MARCH, start=APRIL_1, end=date(2026, 4, 8)))) == 2
    longer = replace(MARCH, end=date(2026, 4, 8))
    assert selectors.return_rates(longer) == live(longer)


def test_orders_changed_after_the_roll_up_count_as_they_are_now(world):
    rollup.roll_up(today=APRIL_1)
    Order.objects.filter(pk=world.orders["o1"].pk).update(cancelled_at=at(3))  # a bulk update: no save()
    OrderLine.objects.filter(pk=world.lines[("o2", "p3")].pk).update(quantity=3, paid_amount=F("unit_price") * 3)
    o4 = world.orders["o4"]
    o4.cancelled_at = None  # uncancelled
    o4.save()
    late = factories.order_with_lines(placed_at=at(20), lines=((Decimal("5.00"), 1),))  # pushed late
    assert OrderChange.objects.count() == 4
    now = rates(MARCH)
    assert {sku: sold for sku, sold, _returned, _rate in now} == {"P2": 5, "P3": 3, late.lines.get().product.sku: 1}
    assert now == [(r.sku, r.sold, r.returned, r.rate) for r in live(MARCH)]

    SalesRollup.objects.create(pk=1, complete_before=APRIL_1, time_zone=timezone.get_current_timezone_name())
    rollup.roll_up(today=APRIL_1)
    assert OrderChange.objects.count() == 0
    assert rates(MARCH) == now


def test_moved_and_deleted_orders_count_where_they_are_now(world):
    rollup.roll_up(today=APRIL_1)
    o2 = world.orders["o2"]
    o2.placed_at = at(25)  # 5 → 25 March: both days change
    o2.save()
    Order.objects.filter(pk=world.orders["o3"].pk).update(placed_at=at(3))  # February → March
    assert {timezone.localdate(c.placed_at) for c in OrderChange.objects.all()} == {
        date(2026, 3, 5),
        date(2026, 3, 25),
        date(2026, 2, 20),
        date(2026, 3, 3),
    }
    assert selectors.return_rates(MARCH)[0].sold == 5  # P1: o1's 4 and o3's 1
    order = factories.order_with_lines(placed_at=at(9), lines=((Decimal("7.00"), 1),))
    rollup.roll_up(today=APRIL_1)
    order.lines.all().delete()
    order.delete()
    figures = rates(MARCH)
    assert figures == [(r.sku, r.sold, r.returned, r.rate) for r in live(MARCH)]
    assert sum(sold for _sku, sold, _r, _rate in figures) == 5 + 2 + 1


def test_a_roll_up_in_another_time_zone_is_not_used(world):
    rollup.roll_up(today=APRIL_1)
    SalesRollup.objects.filter(pk=1).update(time_zone="UTC")
    DailySales.objects.update(units=1000)  # never read
    assert rates(MARCH)[0][1] == 4
    rollup.roll_up(today=APRIL_1)  # counts every day again
    assert DailySales.objects.filter(units=1000).count() == 0
    assert SalesRollup.objects.get().time_zone == timezone.get_current_timezone_name()


def test_the_next_run_adds_the_days_since_the_last(world):
    rollup.roll_up(today=date(2026, 3, 3))
    assert set(DailySales.objects.values_list("day", flat=True)) == {date(2026, 2, 20), date(2026, 3, 2)}
    assert rollup.roll_up(today=date(2026, 3, 10)) == 7  # 3 to 9 March
    assert set(DailySales.objects.values_list("day", flat=True)) == {
        date(2026, 2, 20),
        date(2026, 3, 2),
        date(2026, 3, 5),
    }
    p1, p2 = world.products["p1"].pk, world.products["p2"].pk
    assert rollup.units_sold(date(2026, 3, 1), date(2026, 3, 3)) == {p1: 4, p2: 2}
    assert selectors.return_rates(MARCH) == live(MARCH)


def test_beat_rolls_up_every_hour():
    entry = settings.CELERY_BEAT_SCHEDULE["roll-up-daily-sales"]
    assert entry["task"] == tasks.roll_up_daily_sales.name
    assert entry["schedule"].hour == set(range(24)) and len(entry["schedule"].minute) == 1
