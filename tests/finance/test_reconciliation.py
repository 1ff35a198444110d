"""Proving what was paid (R-FIN-4): the daily export, its check against the gateway, and the COD
bank-transfer batch (R-FIN-2)."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.cases.models import Notification
from aftersales.common.errors import NotAllowed, ValidationFailed
from aftersales.finance import execution, reconciliation
from aftersales.finance import services as finance
from aftersales.finance.models import Refund
from tests.finance.test_execution import approved_refund
from tests.finance.test_queue import order_paid

pytestmark = pytest.mark.django_db


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_R_FIN_4_the_daily_export_lists_what_moved_money(live, gateway, finance_staff):
    paid = execution.execute(approved_refund(finance_staff, gateway, "123.45").pk)
    approved_refund(finance_staff, gateway, "99.00")  # approved, not paid: not in the export
    exported = rows(reconciliation.export_csv(timezone.localdate()))
    assert [(r["refund"], r["amount"], r["gateway_reference"]) for r in exported] == [
        (str(paid.pk), "123.45", paid.gateway_reference)
    ]


def test_R_FIN_4_reconciliation_agrees_and_then_catches_an_injected_mismatch(live, gateway, finance_staff):
    today = timezone.localdate()
    before = {m.idempotency_key for m in reconciliation.reconcile(today)}  # other tests' refunds at the sandbox
    paid = execution.execute(approved_refund(finance_staff, gateway, "123.45").pk)
    assert {m.idempotency_key for m in reconciliation.reconcile(today)} == before
    # Our books say a different amount than the gateway paid: caught, and finance is told.
    Refund.objects.filter(pk=paid.pk).update(amount=Decimal("120.00"))
    found = [m for m in reconciliation.reconcile(today) if m.idempotency_key == paid.idempotency_key]
    assert [(m.kind, m.ours, m.theirs) for m in found] == [("amount_differs", Decimal("120.00"), Decimal("123.45"))]
    assert reconciliation.reconcile_and_report(today) >= 1
    assert Notification.objects.filter(user=finance_staff, title__startswith="Reconciliation").exists()
    # A refund we think is paid but the gateway never made.
    Refund.objects.filter(pk=paid.pk).update(idempotency_key="never-sent", amount=Decimal("123.45"))
    kinds = {(m.kind, m.idempotency_key) for m in reconciliation.reconcile(today)}
    assert ("missing_at_gateway", "never-sent") in kinds and ("unknown_to_us", paid.idempotency_key) in kinds


def bank_refund(amount="88.00", key="bank-1"):
    refund = finance.request_refund(
        order=order_paid("500.00"),
        source=Refund.Source.RETURN,
        amount=Decimal(amount),
        idempotency_key=key,
        destination=Refund.Destination.BANK_TRANSFER,
        bank_account_name="李明",
        bank_name="招商银行",
        bank_account_number="6225880137706868",
    )
    return refund


def test_R_FIN_2_cod_refunds_are_paid_by_the_daily_transfer_batch(finance_staff, agent):
    first = finance.approve_refund(refund=bank_refund(), actor=finance_staff)
    second = finance.approve_refund(refund=bank_refund("12.50", key="bank-2"), actor=finance_staff)
    pending = bank_refund("1.00", key="bank-3")  # not approved: stays out
    with pytest.raises(NotAllowed):
        reconciliation.start_transfer_batch(actor=agent)
    reference, text = reconciliation.start_transfer_batch(actor=finance_staff)
    assert [(r["refund"], r["account_name"], r["amount"]) for r in rows(text)] == [
        (str(first.pk), "李明", "88.00"),
        (str(second.pk), "李明", "12.50"),
    ]
    assert set(Refund.objects.filter(gateway_reference=reference).values_list("state", flat=True)) == {"processing"}
    with pytest.raises(ValidationFailed):
        reconciliation.start_transfer_batch(actor=finance_staff)  # nothing left: no refund is batched twice
    assert execution.requeue_stalled(now=timezone.now() + timedelta(days=1)) == 0  # not a stalled worker
    assert reconciliation.mark_transfer_batch_paid(reference=reference, actor=finance_staff) == 2
    assert set(Refund.objects.filter(gateway_reference=reference).values_list("state", flat=True)) == {"succeeded"}
    pending.refresh_from_db()
    assert pending.state == "pending_approval"
    with pytest.raises(ValidationFailed):
        reconciliation.mark_transfer_batch_paid(reference=reference, actor=finance_staff)
