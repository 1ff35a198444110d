"""Paying approved refunds (R-FIN-4): the outbox's worker side.

1. Claim: one short transaction takes a due approved refund with SELECT … FOR UPDATE SKIP LOCKED,
   marks it `processing` and counts the attempt, so two workers never take the same row.
2. Pay: the gateway is called outside any transaction (no lock is held across the network), always
   with the refund's idempotency key, so asking twice can never pay twice.
3. Record: a second transaction stores the outcome. Paid → `succeeded`; unknown (a timeout) or a
   transient failure → back to `approved` with a backed-off `next_attempt_at`; a permanent failure →
   `failed`, for finance to retry or resolve by hand.

A worker killed between 1 and 3 leaves the refund `processing`; `requeue_stalled` puts it back after
`REFUND_PROCESSING_STALE_SECONDS`, and the retry asks the gateway with the same key (it answers with
the refund it already made). Bank transfers are not sent to a gateway: finance pays them in the daily
transfer batch."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from aftersales.common.locks import lock_one

from . import services
from .gateways import RefundOutcome, RefundStatus, get_gateway
from .models import Refund

log = logging.getLogger(__name__)
State = Refund.State
# Paid by a gateway; internal destinations are credited by the ledger, bank transfers by the batch.
GATEWAY_DESTINATIONS = (Refund.Destination.ORIGINAL_PAYMENT,)


def backoff(attempts: int) -> timedelta:
    """Exponential: 30 s, 1 min, 2 min … capped at an hour."""
    base = settings.REFUND_RETRY_BASE_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def due(now: datetime):
    """Approved refunds a worker may take now."""
    return Refund.objects.filter(state=State.APPROVED, destination__in=GATEWAY_DESTINATIONS).exclude(
        next_attempt_at__gt=now
    )


def claim(*, refund_id: int | None = None, now: datetime | None = None) -> Refund | None:
    """Take one due refund (that one, or the oldest), mark it processing; None if there is none
    or another worker holds it."""
    now = now or timezone.now()
    with transaction.atomic():
        candidates = due(now).order_by("next_attempt_at", "pk")
        if refund_id is not None:
            candidates = candidates.filter(pk=refund_id)
        refund = candidates.select_related("order").select_for_update(skip_locked=True, of=("self",)).first()
        if refund is None:
            return None
        refund.state, refund.attempts = State.PROCESSING, refund.attempts + 1
        refund.save(update_fields=["state", "attempts", "updated_at"])
        services.record_event(refund, action="processing", from_state=State.APPROVED, data={"attempt": refund.attempts})
    return refund


def pay(refund: Refund, gateway=None) -> RefundOutcome:
    gateway = gateway or get_gateway()
    return gateway.refund(
        payment_reference=refund.order.number,  # the merchant's order number (Alipay, WeChat Pay: out_trade_no)
        amount=refund.amount,
        currency=refund.order.currency,
        idempotency_key=refund.idempotency_key,
    )


@transaction.atomic
def record(refund: Refund, outcome: RefundOutcome, *, now: datetime | None = None) -> Refund:
    """Store what the gateway said; only a refund still `processing` is touched (the sweeper may
    have re-queued it meanwhile, and a later attempt will store its own answer)."""
    now = now or timezone.now()
    refund = lock_one(Refund, refund.pk)
    if refund.state != State.PROCESSING:
        return refund
    data = {"attempt": refund.attempts, "status": str(outcome.status), "message": outcome.message[:500]}
    if outcome.status == RefundStatus.SUCCEEDED:
        return services.mark_refund_paid(refund=refund, gateway_reference=outcome.gateway_reference)
    if outcome.retry_with_same_key and refund.attempts < settings.REFUND_MAX_ATTEMPTS:
        return services.move(
            refund,
            State.APPROVED,
            action="attempt_unsettled",
            data=data,
            next_attempt_at=now + backoff(refund.attempts),
            last_error=outcome.message[:2000] or str(outcome.status),
        )
    return services.move(
        refund, State.FAILED, action="failed", data=data, next_attempt_at=None, last_error=outcome.message[:2000]
    )


def execute(refund_id: int | None = None, gateway=None) -> Refund | None:
    """Claim, pay and record one refund; returns it, or None when nothing was due."""
    refund = claim(refund_id=refund_id)
    if refund is None:
        return None
    try:
        outcome = pay(refund, gateway)
    except Exception as exc:  # a bug or an unexpected answer: keep the refund, try again later
        log.exception("refund %s: the gateway call raised", refund.pk)
        outcome = RefundOutcome(status=RefundStatus.UNKNOWN, message=f"{type(exc).__name__}: {exc}")
    return record(refund, outcome)


def execute_due(*, limit: int = 500, gateway=None) -> int:
    """Pay what is due, one refund at a time, until nothing is left or `limit` is reached."""
    gateway = gateway or get_gateway()
    done = 0
    while done < limit and execute(gateway=gateway) is not None:
        done += 1
    return done


def requeue_stalled(*, now: datetime | None = None) -> int:
    """Refunds left `processing` by a worker that died: back to approved, tried again at once with
    the same idempotency key."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.REFUND_PROCESSING_STALE_SECONDS)
    requeued = 0
    with transaction.atomic():
        stalled = Refund.objects.filter(
            state=State.PROCESSING, destination__in=GATEWAY_DESTINATIONS, updated_at__lte=stale
        )  # a bank-transfer batch stays processing until finance marks it paid
        for refund in stalled.select_for_update(skip_locked=True, of=("self",)).order_by("pk"):
            services.move(refund, State.APPROVED, action="requeued", note="stalled in processing", next_attempt_at=None)
            requeued += 1
    return requeued
