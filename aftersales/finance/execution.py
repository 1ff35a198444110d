"""Paying approved refunds (R-FIN-4): the outbox's worker side.

1. Claim: one short transaction takes a batch of due approved refunds with SELECT … FOR UPDATE SKIP
   LOCKED, marks them `processing` and counts the attempt, so two workers never take the same row.
2. Pay: the gateway is called outside any transaction (no lock is held across the network), always
   with the refund's idempotency key, so asking twice can never pay twice.
3. Record: a second transaction stores the outcome. Paid → `succeeded`; unknown (a timeout) or a
   transient failure → back to `approved` with a backed-off `next_attempt_at`; a permanent failure →
   `failed`, for finance to retry or resolve by hand.

Approving a refund nudges a worker (`nudge`), which pays what is due a batch at a time. Nudges sent
while one is still waiting in the queue are dropped, since that one will see their refunds; a worker
that claims a full batch nudges another to help, so a backlog is paid by as many workers as are free.

A worker killed between 1 and 3 leaves its refunds `processing`; `requeue_stalled` puts it back after
`REFUND_PROCESSING_STALE_SECONDS`, and the retry asks the gateway with the same key (it answers with
the refund it already made). Bank transfers are not sent to a gateway: finance pays them in the daily
transfer batch."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from aftersales.common import queueing
from aftersales.common.locks import lock_one

from . import services
from .gateways import RefundOutcome, RefundStatus, get_gateway
from .models import Refund

log = logging.getLogger(__name__)
State = Refund.State
# Paid by a gateway; internal destinations are credited by the ledger, bank transfers by the batch.
GATEWAY_DESTINATIONS = (Refund.Destination.ORIGINAL_PAYMENT,)
# Refunds one worker claims at once: fewer round trips per refund; a worker that dies leaves at most
# this many `processing` for requeue_stalled.
BATCH = 20
NUDGE_KEY = "finance:refunds:nudge-waiting"
# A nudge lost on its way (a broker restart) silences the next ones for at most this long; the
# periodic sweep pays the refunds meanwhile.
NUDGE_WAITING_SECONDS = 60


def backoff(attempts: int) -> timedelta:
    """Exponential: 30 s, 1 min, 2 min … capped at an hour."""
    base = settings.REFUND_RETRY_BASE_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def due(now: datetime):
    """Approved refunds a worker may take now."""
    return Refund.objects.filter(state=State.APPROVED, destination__in=GATEWAY_DESTINATIONS).exclude(
        next_attempt_at__gt=now
    )


def claim(*, refund_id: int | None = None, now: datetime | None = None, limit: int = 1) -> list[Refund]:
    """Take up to `limit` due refunds (only `refund_id`, if given), oldest first, and mark them
    processing; the ones another worker holds are skipped."""
    now = now or timezone.now()
    with transaction.atomic():
        candidates = due(now).order_by("next_attempt_at", "pk")
        if refund_id is not None:
            candidates = candidates.filter(pk=refund_id)
        refunds = list(candidates.select_related("order").select_for_update(skip_locked=True, of=("self",))[:limit])
        if not refunds:
            return []
        Refund.objects.filter(pk__in=[refund.pk for refund in refunds]).update(
            state=State.PROCESSING, attempts=F("attempts") + 1, updated_at=now
        )
        for refund in refunds:
            refund.state, refund.attempts, refund.updated_at = State.PROCESSING, refund.attempts + 1, now
        services.record_events(
            refunds, action="processing", from_state=State.APPROVED, data=lambda refund: {"attempt": refund.attempts}
        )
    return refunds


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
        return services.mark_locked_refund_paid(refund, gateway_reference=outcome.gateway_reference)
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


def pay_and_record(refund: Refund, gateway=None) -> Refund:
    try:
        outcome = pay(refund, gateway)
    except Exception as exc:  # a bug or an unexpected answer: keep the refund, try again later
        log.exception("refund %s: the gateway call raised", refund.pk)
        outcome = RefundOutcome(status=RefundStatus.UNKNOWN, message=f"{type(exc).__name__}: {exc}")
    return record(refund, outcome)


def execute(refund_id: int | None = None, gateway=None) -> Refund | None:
    """Claim, pay and record one refund; returns it, or None when nothing was due."""
    claimed = claim(refund_id=refund_id)
    return pay_and_record(claimed[0], gateway) if claimed else None


def execute_due(*, limit: int = 500, gateway=None, call_for_help: bool = False) -> int:
    """Pay what is due, a batch at a time, until nothing is left or `limit` is reached. With
    `call_for_help`, a full batch (more may be waiting) first nudges another worker."""
    gateway = gateway or get_gateway()
    done = 0
    while done < limit:
        batch = claim(limit=min(BATCH, limit - done))
        if call_for_help and len(batch) == BATCH:
            nudge()
        for refund in batch:
            pay_and_record(refund, gateway)
        done += len(batch)
        if len(batch) < BATCH:
            break
    return done


def _nudges_are_shared() -> bool:
    """Whether every process sees the same waiting-nudge mark: not with a per-process cache."""
    return not isinstance(caches["default"], LocMemCache | DummyCache)


def nudge() -> None:
    """Ask a worker to pay the due refunds, unless a nudge is already waiting in the queue."""
    from .tasks import pay_due_refunds

    shared = _nudges_are_shared()
    if shared and not _mark_nudge_waiting():
        return
    if not queueing.delay(pay_due_refunds, swept_by="sweep_refunds") and shared:
        nudge_received()  # none is waiting after all: the next approval tries again


def _mark_nudge_waiting() -> bool:
    """Whether no nudge was waiting (and now one is). A cache that cannot be reached says yes: an extra
    nudge costs a worker one empty look, a missing one a refund paid a sweep later."""
    try:
        return cache.add(NUDGE_KEY, True, timeout=NUDGE_WAITING_SECONDS)
    except Exception as exc:  # each cache backend raises its own errors (redis-py's ConnectionError …)
        log.warning("cache unreachable, refund nudge sent without the waiting mark: %s", exc)
        return True


def nudge_received() -> None:
    """A worker took the nudge: refunds approved from now on need a new one. Refunds approved before
    this are visible to the worker's claims, which come after it."""
    if _nudges_are_shared():
        try:
            cache.delete(NUDGE_KEY)
        except Exception as exc:  # the mark expires on its own
            log.warning("cache unreachable, refund nudge mark left to expire: %s", exc)


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
