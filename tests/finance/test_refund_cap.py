"""R-RET-13 in the database: triggers (finance migration 0002) refuse any write that makes an order's
non-rejected refunds exceed its paid_total, even one that never goes through `request_refund`."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from aftersales.finance.models import Refund
from aftersales.orders.models import Order
from tests import factories
from tests.cases.test_concurrency import run_together

pytestmark = pytest.mark.django_db


def paid(total: str) -> Order:
    return factories.order_with_lines(lines=((Decimal(total), 1),))


def refund(order: Order, amount: str, key: str, **kwargs) -> Refund:
    """A refund row written straight to the table, bypassing the service's check."""
    return Refund.objects.create(order=order, source="goodwill", amount=Decimal(amount), idempotency_key=key, **kwargs)


def test_R_RET_13_a_refund_written_past_the_service_cannot_exceed_what_was_paid():
    order = paid("100.00")
    refund(order, "60.00", "a")
    with pytest.raises(IntegrityError, match="refunds exceed paid total"), transaction.atomic():
        refund(order, "40.01", "b")
    assert list(order.refunds.values_list("amount", flat=True)) == [Decimal("60.00")]


def test_R_RET_13_refunds_may_reach_the_paid_total_exactly_even_with_float_cents():
    """SQLite sums 0.10 + 0.20 as 0.30000000000000004: the trigger compares to the cent."""
    order = paid("0.30")
    refund(order, "0.10", "a")
    refund(order, "0.20", "b")
    assert order.refunds.count() == 2


def test_R_RET_13_a_bulk_insert_over_the_cap_is_refused_whole():
    order = paid("100.00")
    rows = [Refund(order=order, source="goodwill", amount=Decimal("50.00"), idempotency_key=k) for k in "abc"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.bulk_create(rows)
    assert not order.refunds.exists()


def test_R_RET_13_rejected_refunds_do_not_count():
    order = paid("100.00")
    refund(order, "100.00", "rejected", state=Refund.State.REJECTED)
    refund(order, "100.00", "paid-back")
    assert order.refunds.count() == 2


def test_R_RET_13_a_rejected_refund_cannot_come_back_over_the_cap():
    order = paid("100.00")
    rejected = refund(order, "70.00", "a", state=Refund.State.REJECTED)
    refund(order, "50.00", "b")
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.filter(pk=rejected.pk).update(state=Refund.State.PENDING_APPROVAL)
    rejected.refresh_from_db()
    assert rejected.state == Refund.State.REJECTED


def test_R_RET_13_raising_an_amount_or_moving_a_refund_to_another_order_is_checked_too():
    order, small = paid("100.00"), paid("10.00")
    first = refund(order, "60.00", "a")
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.filter(pk=first.pk).update(amount=Decimal("100.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.filter(pk=first.pk).update(order=small)
    Refund.objects.filter(pk=first.pk).update(amount=Decimal("100.00"))  # at the cap: fine


def test_R_RET_13_paid_total_cannot_drop_below_the_refunds():
    order = paid("100.00")
    refund(order, "80.00", "a")
    refund(order, "50.00", "rejected", state=Refund.State.REJECTED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(goods_total=Decimal("79.99"), paid_total=Decimal("79.99"))
    Order.objects.filter(pk=order.pk).update(goods_total=Decimal("80.00"), paid_total=Decimal("80.00"))
    order.refresh_from_db()
    assert order.paid_total == Decimal("80.00")
    order.save()  # an unrelated save rewrites paid_total unchanged: not refused


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_R_RET_13_two_simultaneous_raw_inserts_cannot_both_fit():
    """Each refund fits alone, not both. Neither goes through the service (no Python lock): the
    trigger's lock on the order serializes them, and the second sees the first's refund."""
    for round_no in range(10):
        order = paid("100.00")

        def insert(order, key):
            def act(_):
                with transaction.atomic():
                    return refund(order, "60.00", key)

            return (lambda: None, act)

        results = run_together(insert(order, f"{round_no}a"), insert(order, f"{round_no}b"))

        winners = [r for r in results if isinstance(r, Refund)]
        losers = [r for r in results if not isinstance(r, Refund)]
        assert len(winners) == 1 and len(losers) == 1, results
        # A check violation, not a deadlock or a lock timeout.
        assert isinstance(losers[0], IntegrityError) and "refunds exceed paid total" in str(losers[0]), repr(losers)
        assert list(order.refunds.values_list("pk", flat=True)) == [winners[0].pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_R_RET_13_writers_already_holding_a_key_share_lock_on_the_order_do_not_deadlock():
    """An immediate foreign-key check (or any FOR KEY SHARE) on the order is held when the trigger
    runs; the trigger's lock must not conflict with it, or two inserts deadlock instead of one
    getting a clear check violation."""
    order = paid("100.00")

    def insert(key):
        def prepare():
            transaction.set_autocommit(False)
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM orders_order WHERE id = %s FOR KEY SHARE", [order.pk])

        def act(_):
            try:
                created = refund(order, "60.00", key)
                transaction.commit()
                return created
            except Exception:
                transaction.rollback()
                raise

        return (prepare, act)

    results = run_together(insert("a"), insert("b"))

    assert sum(isinstance(r, Refund) for r in results) == 1, results
    assert any(isinstance(r, IntegrityError) for r in results), results
    assert order.refunds.count() == 1
