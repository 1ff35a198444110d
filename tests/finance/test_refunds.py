"""The minimal refund outbox the returns flow writes to (R-FIN-1), guarded so an order never pays
back more than it took (R-RET-13)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from aftersales.common.errors import PolicyRefused
from aftersales.finance.models import Refund
from aftersales.finance.services import request_refund
from returns import services
from tests import factories
from tests.returns.test_submit import submit

pytestmark = pytest.mark.django_db


def recent_order(customer, price=Decimal("1999.00")):
    return factories.order_with_lines(
        customer=customer, lines=((price, 1),), signed_for_at=timezone.now() - timedelta(days=1)
    )


def test_R_FIN_1_a_passed_inspection_queues_one_refund_for_what_is_due(customer, agent):
    """R-FIN-1 / R-RET-9: inspection passed → a refund row pending approval, once."""
    order = recent_order(customer)
    case = services.receive(case=services.approve(case=submit(order), actor=agent), actor=agent)
    services.inspect(case=case, actor=agent, passed=True, notes="Fine", deductions=Decimal("99.00"))
    refund = Refund.objects.get(case=case)
    assert (refund.amount, refund.state, refund.source) == (Decimal("1900.00"), "pending_approval", "return")
    assert refund.requested_by == agent and refund.order == order


def test_R_RET_11_a_failed_inspection_queues_no_refund(customer, agent):
    """R-RET-11: the goods go back, nothing is refunded."""
    order = recent_order(customer)
    case = services.receive(case=services.approve(case=submit(order), actor=agent), actor=agent)
    services.inspect(case=case, actor=agent, passed=False, notes="Water damage")
    assert not Refund.objects.filter(case=case).exists()


def test_R_RET_14_refund_only_is_refunded_on_approval_without_a_parcel(customer, agent):
    """R-RET-14 / refund only: paid but never shipped → approval queues the refund, no ship deadline."""
    order = factories.order_with_lines(customer=customer, signed_for_at=None, left_warehouse_at=None)
    case = submit(order, kind="refund_only", reason="not_received", condition={})
    assert case.status == "submitted"  # over the auto-approve limit
    case = services.approve(case=case, actor=agent)
    assert case.status == "refund_pending" and case.deadline_at is None
    assert Refund.objects.get(case=case).amount == order.paid_total


def test_R_RET_15_an_auto_approved_refund_only_queues_its_refund(customer):
    """R-RET-15: under the limit, approval (and so the refund) needs no agent."""
    order = factories.order_with_lines(
        customer=customer, lines=((Decimal("99.00"), 1),), signed_for_at=None, left_warehouse_at=None
    )
    case = submit(order, kind="refund_only", reason="not_received", condition={})
    assert case.status == "refund_pending"
    assert Refund.objects.get(case=case).amount == Decimal("99.00")


def test_R_RET_13_refunds_are_idempotent_and_never_exceed_the_order(customer):
    """R-RET-13: the sum of an order's refunds never exceeds what was paid; a repeat is the same row."""
    order = recent_order(customer, price=Decimal("100.00"))
    first = request_refund(order=order, source="goodwill", amount=Decimal("60.00"), idempotency_key="k1")
    assert request_refund(order=order, source="goodwill", amount=Decimal("60.00"), idempotency_key="k1") == first
    with pytest.raises(PolicyRefused) as refused:
        request_refund(order=order, source="goodwill", amount=Decimal("40.01"), idempotency_key="k2")
    assert refused.value.rule == "R-RET-13"
    request_refund(order=order, source="goodwill", amount=Decimal("40.00"), idempotency_key="k3")
    assert Refund.objects.filter(order=order).count() == 2


def test_refund_amounts_are_guarded_by_the_database(customer):
    order = recent_order(customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.create(order=order, source="goodwill", amount=Decimal("0.00"), idempotency_key="zero")
