"""Proving what was paid (R-FIN-4): the daily reconciliation export and its check against the
gateway, the daily bank-transfer batch for COD refunds (R-FIN-2), and the queue as finance filtered it.

Both export CSV (UTF-8 with a BOM, so spreadsheet programs open Chinese names correctly)."""

import csv
import io
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common.errors import ValidationFailed

from . import services
from .gateways import GatewayError, get_gateway
from .models import Refund

log = logging.getLogger(__name__)
State = Refund.State
PAID_STATES = (State.SUCCEEDED, State.RESOLVED)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
    return start, start + timedelta(days=1)


def paid_on(day: date):
    """Refunds that moved money on the shop's local `day`."""
    start, end = _day_bounds(day)
    return (
        Refund.objects.filter(state__in=PAID_STATES, paid_at__gte=start, paid_at__lt=end)
        .select_related("order", "case")
        .order_by("paid_at", "pk")
    )


def _csv(header: list[str], rows) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def export_csv(day: date) -> str:
    """Every refund that moved money that day, with its gateway reference."""
    rows = (
        [
            r.pk,
            timezone.localtime(r.paid_at).isoformat(timespec="seconds"),
            r.order.number,
            r.case.number if r.case_id else "",
            r.source,
            r.destination,
            f"{r.amount:.2f}",
            r.order.currency,
            r.state,
            r.gateway_reference,
            r.idempotency_key,
        ]
        for r in paid_on(day)
    )
    header = ["refund", "paid_at", "order", "case", "source", "destination", "amount", "currency", "state"]
    return _csv([*header, "gateway_reference", "idempotency_key"], rows)


def queue_csv(refunds) -> str:
    """The refund queue as filtered in the dashboard, every refund whatever its state, oldest first."""
    refunds = refunds.select_related("order", "case", "requested_by").order_by("created_at", "pk")
    header = ["refund", "created_at", "order", "case", "source", "destination", "amount", "currency", "state"]
    header += ["approvals", "approvals_required", "attempts", "paid_at", "requested_by", "last_error"]
    rows = (
        [
            r.pk,
            timezone.localtime(r.created_at).isoformat(timespec="seconds"),
            r.order.number,
            r.case.number if r.case_id else "",
            r.source,
            r.destination,
            f"{r.amount:.2f}",
            r.order.currency,
            r.state,
            r.approval_count,
            r.approvals_required,
            r.attempts,
            timezone.localtime(r.paid_at).isoformat(timespec="seconds") if r.paid_at else "",
            r.requested_by.email if r.requested_by_id else "",
            r.last_error,
        ]
        for r in refunds.iterator(chunk_size=2000)
    )
    return _csv(header, rows)


@dataclass(frozen=True)
class Mismatch:
    kind: str  # "missing_at_gateway" | "unknown_to_us" | "amount_differs"
    idempotency_key: str
    ours: Decimal | None
    theirs: Decimal | None

    @property
    def explanation(self) -> str:
        return {
            "missing_at_gateway": _("We recorded it as paid, the gateway has no such refund."),
            "unknown_to_us": _("The gateway paid it, we have no paid refund with this key."),
            "amount_differs": _("The amounts differ."),
        }[self.kind]


def reconcile(day: date, gateway=None) -> list[Mismatch]:
    """Our gateway-paid refunds of `day` against the gateway's own list, matched by idempotency
    key. Raises GatewayError when the gateway cannot answer (the check is then not done)."""
    gateway = gateway or get_gateway()
    ours = {
        r.idempotency_key: r.amount
        for r in paid_on(day).filter(destination=Refund.Destination.ORIGINAL_PAYMENT, state=State.SUCCEEDED)
    }
    theirs = {g.idempotency_key: g.amount for g in gateway.refunds_on(day)}
    mismatches = [
        Mismatch("missing_at_gateway", key, amount, None) for key, amount in ours.items() if key not in theirs
    ]
    mismatches += [Mismatch("unknown_to_us", key, None, amount) for key, amount in theirs.items() if key not in ours]
    mismatches += [
        Mismatch("amount_differs", key, ours[key], theirs[key])
        for key in ours.keys() & theirs.keys()
        if ours[key] != theirs[key]
    ]
    return sorted(mismatches, key=lambda m: (m.kind, m.idempotency_key))


def reconcile_and_report(day: date) -> int:
    """The daily job: reconcile yesterday and tell every finance user about any difference."""
    from django.contrib.auth import get_user_model

    from aftersales.accounts.roles import FINANCE
    from aftersales.cases.notifications import notify

    try:
        mismatches = reconcile(day)
    except GatewayError:
        log.exception("reconciliation of %s: the gateway could not answer", day)
        raise
    if mismatches:
        log.error("reconciliation of %s: %d difference(s) with the gateway", day, len(mismatches))
        for user in get_user_model().objects.filter(groups__name=FINANCE, is_active=True).distinct():
            notify(
                user=user,
                title=lambda: (
                    _("Reconciliation of %(day)s: %(n)d difference(s) with the gateway")
                    % {"day": day.isoformat(), "n": len(mismatches)}
                ),
                body=lambda: "\n".join(
                    f"{m.idempotency_key}: {m.explanation} ({m.ours} / {m.theirs})" for m in mismatches
                ),
            )
    return len(mismatches)


# --- The bank-transfer batch (COD refunds, R-FIN-2) ----------------------------------------------------

BATCH_PREFIX = "BATCH-"


@transaction.atomic
def start_transfer_batch(*, actor, now: datetime | None = None) -> tuple[str, str]:
    """Take every approved bank-transfer refund into a new batch (they become `processing` under the
    batch's reference) and return (reference, CSV for the bank). Refunds another finance user is
    batching right now are skipped, not doubled."""
    services.require_finance(actor)
    now = now or timezone.now()
    reference = f"{BATCH_PREFIX}{timezone.localtime(now):%Y%m%d-%H%M%S}-{actor.pk}"
    taken = list(
        Refund.objects.filter(state=State.APPROVED, destination=Refund.Destination.BANK_TRANSFER)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("order")
        .order_by("pk")
    )
    if not taken:
        raise ValidationFailed(_("No approved bank transfer is waiting."))
    for refund in taken:
        services.move(
            refund, State.PROCESSING, action="batched", actor=actor, note=reference, gateway_reference=reference
        )
    rows = (
        [
            r.pk,
            r.bank_account_name,
            r.bank_name,
            r.bank_account_number,
            f"{r.amount:.2f}",
            r.order.currency,
            f"{r.order.number} refund",
        ]
        for r in taken
    )
    return reference, _csv(["refund", "account_name", "bank", "account_number", "amount", "currency", "memo"], rows)


@transaction.atomic
def mark_transfer_batch_paid(*, reference: str, actor) -> int:
    """The bank executed the batch: each of its refunds is paid (and its case moves on)."""
    services.require_finance(actor)
    refunds = Refund.objects.filter(
        state=State.PROCESSING, destination=Refund.Destination.BANK_TRANSFER, gateway_reference=reference
    )
    count = 0
    for refund in refunds.order_by("pk"):
        services.mark_refund_paid(refund=refund, gateway_reference=reference)
        count += 1
    if not count:
        raise ValidationFailed(_("No unpaid refund is in batch %(reference)s.") % {"reference": reference})
    return count
