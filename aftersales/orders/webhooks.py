"""Outgoing webhooks: telling a storefront that something happened to one of its orders.

A caller (e.g. price protection repricing a COD order) queues an event inside the transaction that
made the change:

    queue_webhook(storefront=order.storefront, event="order.repriced", payload={...},
                  key=f"order.repriced:{order.number}:{revision}")

The event is a row first (`WebhookDelivery`, the outbox), unique by key: the same event queued twice
is stored, and sent, once. A worker is nudged when the transaction commits; a periodic sweep
(`deliver_due`) sends the retries and whatever a lost nudge or a dead worker left behind.

Sending one delivery (`deliver`) follows the refund executor (`aftersales.finance.execution`):

1. Claim: a short transaction locks the row (`lock_one`), checks it is still pending and due, counts
   the attempt and moves `next_attempt_at` past the longest the call can take. No other worker takes
   it meanwhile; if this worker dies, the row is due again by itself.
2. Send: the POST happens outside any transaction (no lock is held across the network).
3. Record: a second short transaction stores the outcome. 2xx → delivered; anything else (another
   status, a redirect, a timeout, no connection) → tried again after an exponential backoff
   (WEBHOOK_RETRY_BASE_SECONDS, doubling, at most an hour), or failed after WEBHOOK_MAX_ATTEMPTS for
   staff to retry from the dashboard (`retry_delivery`).

Delivery is at least once: a storefront may receive an event twice (its 2xx was lost, or a call
outlived its claim) and should ignore a delivery id it has already processed.

For storefront implementers
---------------------------
Each delivery is an HTTP POST whose JSON body is

    {"id": "<delivery id>", "event": "order.repriced", "created_at": "<ISO 8601>", "data": {...}}

sent with the headers

    Content-Type: application/json
    X-Aftersales-Event: order.repriced
    X-Aftersales-Delivery: <delivery id: the same on every attempt; the body's "id">
    X-Aftersales-Timestamp: <Unix time of this attempt, in seconds>
    X-Aftersales-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>", keyed with the secret>

Before trusting anything, compute the HMAC over the timestamp header, a ".", and the raw body bytes
exactly as received (before any JSON parsing); compare it in constant time; refuse a timestamp more
than a few minutes from your clock (a replayed request). `verify_signature` does all three. The
event and the id are inside the signed body: trust those, not the unsigned headers. Answer 2xx once
the event is stored; anything else, or no answer within WEBHOOK_TIMEOUT_SECONDS, is retried, each
attempt with a fresh timestamp and signature (made with the secret current at that moment). Money in
"data" is a decimal string ("12.30"), never a float.
"""

import hashlib
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common.errors import InvalidTransition, ValidationFailed
from aftersales.common.locks import lock_one

from .models import Storefront, WebhookDelivery

log = logging.getLogger(__name__)
State = WebhookDelivery.State

EVENT_HEADER = "X-Aftersales-Event"
DELIVERY_HEADER = "X-Aftersales-Delivery"
TIMESTAMP_HEADER = "X-Aftersales-Timestamp"
SIGNATURE_HEADER = "X-Aftersales-Signature"
SIGNATURE_PREFIX = "sha256="
USER_AGENT = "aftersales-webhooks/1"
# How far a receiver may let a timestamp drift from its clock (verify_signature's default).
DEFAULT_TOLERANCE_SECONDS = 300
MAX_BACKOFF_SECONDS = 3600
# A claim outlasts the longest one call can take (connect + write + read + pool timeouts) by this much.
CLAIM_MARGIN_SECONDS = 30
# What of a refusing storefront's answer is kept in `last_error`.
ERROR_BODY_BYTES = 500


# --- Signatures -------------------------------------------------------------------------------------


def sign(secret: str, timestamp: str | int, body: bytes | str) -> str:
    """The X-Aftersales-Signature value: "sha256=" + hex HMAC-SHA256 of "<timestamp>.<body>"."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    message = f"{timestamp}.".encode() + body
    return SIGNATURE_PREFIX + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    timestamp: str | int,
    body: bytes | str,
    signature: str,
    *,
    tolerance_seconds: float | None = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """For storefront implementers (and our tests): is `signature` (the X-Aftersales-Signature header)
    ours for this timestamp header and raw body?

    `body` must be the request body exactly as received, not re-serialised JSON. The comparison takes
    the same time whatever the signature, so it leaks nothing. A timestamp further than
    `tolerance_seconds` from `now` (Unix seconds, default: the clock) is refused, so a captured request
    cannot be replayed later; None turns that check off."""
    if not secret or not signature:
        return False
    try:
        sent_at = int(str(timestamp))
    except ValueError:
        return False
    if tolerance_seconds is not None:
        now = time.time() if now is None else now
        if abs(now - sent_at) > tolerance_seconds:
            return False
    expected = sign(secret, timestamp, body)
    return hmac.compare_digest(expected.encode("utf-8"), str(signature).encode("utf-8"))


# --- Queueing ---------------------------------------------------------------------------------------


def queue_webhook(*, storefront: Storefront, event: str, payload: dict, key: str) -> WebhookDelivery | None:
    """Queue `event` for `storefront`, to be POSTed once the current transaction commits.

    Returns None (and queues nothing) when the storefront has no webhook URL or is inactive.
    Idempotent by `key`, which identifies the event across the whole platform (e.g.
    "order.repriced:<order number>:<revision>"): a key already queued returns its delivery, unchanged.
    `payload` is any JSON-serialisable dict; Decimal amounts, datetimes and UUIDs become strings."""
    errors = {}
    event, key = event.strip(), key.strip()
    if not event or len(event) > WebhookDelivery._meta.get_field("event").max_length:
        errors["event"] = [_("An event name has 1 to 64 characters.")]
    if not key or len(key) > WebhookDelivery._meta.get_field("key").max_length:
        errors["key"] = [_("An event id has 1 to 200 characters.")]
    if not isinstance(payload, dict):
        errors["payload"] = [_("The payload must be a JSON object.")]
    if errors:
        raise ValidationFailed(fields=errors)
    if not storefront.webhook_url or not storefront.active:
        return None
    existing = WebhookDelivery.objects.filter(key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():  # a savepoint: losing a race on the key undoes only this insert
            delivery = WebhookDelivery.objects.create(
                storefront=storefront, event=event, key=key, payload=payload, next_attempt_at=timezone.now()
            )
    except IntegrityError:
        return WebhookDelivery.objects.get(key=key)  # the same event, queued concurrently
    transaction.on_commit(lambda: _nudge(delivery.pk), robust=True)  # a lost nudge is the sweep's job
    return delivery


def _nudge(delivery_id: int) -> None:
    from .tasks import deliver_webhook

    deliver_webhook.delay(delivery_id)


@transaction.atomic
def retry_delivery(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Staff's "retry now": a failed delivery is pending again, due at once, with a fresh set of
    WEBHOOK_MAX_ATTEMPTS attempts (its last error and status stay until the next attempt)."""
    delivery = lock_one(WebhookDelivery, delivery.pk)
    if delivery.state != State.FAILED:
        raise InvalidTransition(_("Only a failed delivery can be retried; a pending one is retried by itself."))
    delivery.state, delivery.attempts, delivery.next_attempt_at = State.PENDING, 0, timezone.now()
    delivery.save(update_fields=["state", "attempts", "next_attempt_at", "updated_at"])
    transaction.on_commit(lambda: _nudge(delivery.pk), robust=True)
    return delivery


# --- Sending ----------------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: base, 2 × base, 4 × base … capped at an hour."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def claim_lease() -> timedelta:
    """How long a claimed delivery stays out of other workers' reach: longer than any one call."""
    return timedelta(seconds=4 * settings.WEBHOOK_TIMEOUT_SECONDS + CLAIM_MARGIN_SECONDS)


def due(now: datetime):
    """Pending deliveries a worker may send now."""
    return WebhookDelivery.objects.filter(state=State.PENDING, next_attempt_at__lte=now)


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: a 2xx, or why not (`status_code` is None when no answer came)."""

    delivered: bool
    status_code: int | None = None
    error: str = ""


def deliver(
    delivery_id: int, *, now: datetime | None = None, client: httpx.Client | None = None
) -> WebhookDelivery | None:
    """Claim, send and record one delivery. Returns it as recorded, or None when there was nothing to
    do: not pending, not due yet, or being sent by another worker. `now` pins the clock for every
    step (tests); `client` replaces the process's HTTP client."""
    delivery = claim(delivery_id, now=now)
    if delivery is None:
        return None
    try:
        outcome = send(delivery, client=client)
    except Exception as exc:  # a bug or an unexpected answer: keep the delivery, try again later
        log.exception("webhook delivery %s: sending raised", delivery.pk)
        outcome = Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}")
    return record(delivery, outcome, now=now)


def deliver_due(*, now: datetime | None = None, limit: int = 500, client: httpx.Client | None = None) -> int:
    """The sweep: send every delivery due at `now` (default: the clock), oldest due first, at most
    `limit`; returns how many were attempted (others may have been taken by other workers meanwhile)."""
    ids = list(due(now or timezone.now()).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
    return sum(deliver(pk, now=now, client=client) is not None for pk in ids)


def claim(delivery_id: int, *, now: datetime | None = None) -> WebhookDelivery | None:
    """Step 1, one short transaction: take the delivery if it is pending and due; count the attempt
    and move its next attempt past the claim's end. The storefront's URL and secret are read here."""
    now = now or timezone.now()
    with transaction.atomic():
        try:
            delivery = lock_one(WebhookDelivery, delivery_id)
        except WebhookDelivery.DoesNotExist:
            return None
        if delivery.state != State.PENDING or delivery.next_attempt_at > now:
            return None
        if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            # The last attempt's worker died before recording an answer: give up as that attempt would have.
            delivery.state, delivery.next_attempt_at = State.FAILED, None
            delivery.last_error = delivery.last_error or "the last attempt recorded no outcome (its worker stopped)"
            delivery.save(update_fields=["state", "next_attempt_at", "last_error", "updated_at"])
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + max(backoff(delivery.attempts), claim_lease())
        delivery.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
        delivery.storefront = Storefront.objects.get(pk=delivery.storefront_id)
    return delivery


def send(delivery: WebhookDelivery, *, client: httpx.Client | None = None) -> Outcome:
    """Step 2, outside any transaction: POST the signed body to the storefront."""
    storefront = delivery.storefront
    if not storefront.webhook_url:
        return Outcome(delivered=False, error="the storefront has no webhook URL")
    if not storefront.active:
        return Outcome(delivered=False, error="the storefront is inactive")
    if not storefront.webhook_secret:
        return Outcome(delivered=False, error="the storefront has no webhook signing secret (rotate it)")
    body = envelope(delivery)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: delivery.key,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(storefront.webhook_secret, timestamp, body),
    }
    try:
        with (client or http_client()).stream("POST", storefront.webhook_url, content=body, headers=headers) as answer:
            if 200 <= answer.status_code < 300:
                return Outcome(delivered=True, status_code=answer.status_code)
            return Outcome(delivered=False, status_code=answer.status_code, error=_describe(answer))
    except httpx.TimeoutException as error:
        return Outcome(delivered=False, error=f"no answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g} s: {error!r}")
    except httpx.TransportError as error:
        return Outcome(delivered=False, error=f"could not reach the storefront: {error!r}")


@transaction.atomic
def record(claimed: WebhookDelivery, outcome: Outcome, *, now: datetime | None = None) -> WebhookDelivery:
    """Step 3, one short transaction: store the attempt's outcome. A 2xx always counts (the event
    arrived); a failure counts only if no later attempt has claimed the delivery meanwhile (that one
    records its own)."""
    now = now or timezone.now()
    delivery = lock_one(WebhookDelivery, claimed.pk)
    if delivery.state != State.PENDING:
        return delivery
    if not outcome.delivered and delivery.attempts != claimed.attempts:
        return delivery
    delivery.last_status_code = outcome.status_code
    if outcome.delivered:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = State.DELIVERED, now, None
        delivery.last_error = ""
    else:
        delivery.last_error = outcome.error[:2000]
        if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            delivery.state, delivery.next_attempt_at = State.FAILED, None
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save()
    return delivery


def envelope(delivery: WebhookDelivery) -> bytes:
    """The body: the event's id, name and time, and its payload under "data" (all of it signed)."""
    body = {"id": delivery.key, "event": delivery.event, "created_at": delivery.created_at, "data": delivery.payload}
    return json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def http_client() -> httpx.Client:
    """One client per process and timeout, so connections to a storefront are reused between deliveries.
    Redirects are not followed: a 3xx is a failed attempt (the storefront should fix its URL)."""
    key = (settings.WEBHOOK_TIMEOUT_SECONDS, os.getpid())  # never a client inherited across a fork
    if key not in _clients:
        _clients[key] = httpx.Client(
            timeout=httpx.Timeout(settings.WEBHOOK_TIMEOUT_SECONDS),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
    return _clients[key]


_clients: dict[tuple, httpx.Client] = {}


def _describe(answer: httpx.Response) -> str:
    """The status and the start of a refusing answer's body."""
    text = b""
    for chunk in answer.iter_bytes():
        text += chunk
        if len(text) >= ERROR_BODY_BYTES:
            break
    return f"{answer.status_code} {text[:ERROR_BODY_BYTES].decode('utf-8', errors='replace')}".strip()
