"""Outgoing webhooks to storefronts (`aftersales.orders.webhooks`): signed, sent once per event,
retried with backoff, given up on after the configured attempts, and never sent by two workers at
once. The storefront is a real HTTP server in a thread; the database is the test database."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from aftersales.common.errors import InvalidTransition, ValidationFailed
from aftersales.orders import services, webhooks
from aftersales.orders.models import Storefront, WebhookDelivery
from aftersales.orders.tasks import sweep_webhooks
from tests import factories
from tests.orders.conftest import TOKEN

pytestmark = pytest.mark.django_db
State = WebhookDelivery.State
PAYLOAD = {"order": "SO00000042", "lines": [{"line_no": 1, "unit_price": Decimal("3799.00")}]}


class Receiver:
    """A storefront's webhook endpoint: records every request and answers from a script of
    (status, delay in seconds), then 200 once the script runs out."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[tuple[int, float]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    status, delay = receiver.script.pop(0) if receiver.script else (200, 0)
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"storefront says no")

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client that gave up (our timeout) leaves a broken pipe behind: expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/aftersales"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, *steps):
        """Queue answers: a status, or (status, delay)."""
        self.script.extend(step if isinstance(step, tuple) else (step, 0) for step in steps)


@pytest.fixture(scope="module")
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def endpoint(receiver):
    receiver.requests.clear()
    receiver.script.clear()
    return receiver


@pytest.fixture
def storefront(db, endpoint):
    """The test shop, with its webhook URL set and a secret generated (as the dashboard does)."""
    storefront, _token = services.create_storefront(name="Test shop", token=TOKEN)
    storefront.webhook_url = endpoint.url
    storefront.save()
    storefront, secret = services.ensure_webhook_secret(storefront=storefront)
    assert secret and secret == storefront.webhook_secret
    return storefront


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_MAX_ATTEMPTS = 8
    settings.WEBHOOK_TIMEOUT_SECONDS = 2


def queue(storefront, key="order.repriced:SO00000042:1", payload=PAYLOAD):
    return webhooks.queue_webhook(storefront=storefront, event="order.repriced", payload=payload, key=key)


# --- signatures ------------------------------------------------------------------------------------


def test_the_signature_verifies_and_a_tampered_body_fails(storefront, endpoint):
    delivery = queue(storefront)
    assert webhooks.deliver(delivery.pk).state == State.DELIVERED
    [request] = endpoint.requests
    headers, body = request["headers"], request["body"]
    timestamp, signature = headers["X-Aftersales-Timestamp"], headers["X-Aftersales-Signature"]
    secret = storefront.webhook_secret

    # The documented recipe, by hand: HMAC-SHA256 of "<timestamp>.<raw body>", hex, after "sha256=".
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"
    assert abs(int(timestamp) - time.time()) < 60

    assert webhooks.verify_signature(secret, timestamp, body, signature)
    assert webhooks.verify_signature(secret, timestamp, body.decode(), signature)  # str bodies too
    tampered = body.replace(b"3799.00", b"1.00")
    assert tampered != body
    assert not webhooks.verify_signature(secret, timestamp, tampered, signature)
    assert not webhooks.verify_signature(secret, str(int(timestamp) + 1), body, signature)  # timestamp changed
    assert not webhooks.verify_signature("whsec_someone-else", timestamp, body, signature)
    assert not webhooks.verify_signature(secret, timestamp, body, signature.replace("sha256=", "sha1="))
    assert not webhooks.verify_signature(secret, timestamp, body, "")
    assert not webhooks.verify_signature(secret, "yesterday", body, signature)
    # A replay outside the tolerance is refused; the check can be widened or turned off.
    later = int(timestamp) + webhooks.DEFAULT_TOLERANCE_SECONDS + 1
    assert not webhooks.verify_signature(secret, timestamp, body, signature, now=later)
    assert webhooks.verify_signature(secret, timestamp, body, signature, now=later, tolerance_seconds=None)


def test_the_request_carries_the_event_its_id_and_the_payload_in_a_signed_envelope(storefront, endpoint):
    delivery = queue(storefront)
    webhooks.deliver(delivery.pk)
    [request] = endpoint.requests
    headers = request["headers"]
    assert request["path"] == "/hooks/aftersales"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Aftersales-Event"] == "order.repriced"
    assert headers["X-Aftersales-Delivery"] == delivery.key
    body = json.loads(request["body"])
    assert body["id"] == delivery.key and body["event"] == "order.repriced" and body["created_at"]
    # Money leaves as a decimal string, never a float.
    assert body["data"] == {"order": "SO00000042", "lines": [{"line_no": 1, "unit_price": "3799.00"}]}


# --- delivering ------------------------------------------------------------------------------------


def test_a_2xx_delivers_once(storefront, endpoint, django_capture_on_commit_callbacks):
    endpoint.answer(204)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        delivery = queue(storefront)
        assert endpoint.requests == []  # nothing leaves before the transaction commits
    assert len(callbacks) == 1  # the nudge: delivered by the (eager) task
    delivery.refresh_from_db()
    assert delivery.state == State.DELIVERED and delivery.attempts == 1
    assert delivery.last_status_code == 204 and delivery.last_error == ""
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    assert webhooks.deliver(delivery.pk) is None  # nothing left to do
    assert webhooks.deliver_due(now=timezone.now() + timedelta(days=1)) == 0
    assert len(endpoint.requests) == 1


def test_a_500_then_a_200_is_retried_after_the_backoff(storefront, endpoint):
    endpoint.answer(500, 200)
    delivery = queue(storefront)
    start = timezone.now()

    delivery = webhooks.deliver(delivery.pk, now=start)
    assert delivery.state == State.PENDING and delivery.attempts == 1
    assert delivery.last_status_code == 500 and "storefront says no" in delivery.last_error
    assert delivery.next_attempt_at == start + timedelta(seconds=30)
    assert webhooks.deliver(delivery.pk, now=start + timedelta(seconds=29)) is None  # not due yet
    assert len(endpoint.requests) == 1

    delivery = webhooks.deliver(delivery.pk, now=start + timedelta(seconds=30))
    assert delivery.state == State.DELIVERED and delivery.attempts == 2 and delivery.last_status_code == 200
    assert delivery.last_error == ""
    first, second = endpoint.requests
    # The same delivery id both times (the storefront de-duplicates by it), each attempt signed anew.
    assert first["headers"]["X-Aftersales-Delivery"] == second["headers"]["X-Aftersales-Delivery"] == delivery.key
    for request in endpoint.requests:
        headers = request["headers"]
        assert webhooks.verify_signature(
            storefront.webhook_secret,
            headers["X-Aftersales-Timestamp"],
            request["body"],
            headers["X-Aftersales-Signature"],
        )


def test_the_backoff_doubles_up_to_an_hour(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    assert [webhooks.backoff(n).total_seconds() for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]


def test_a_timeout_counts_as_a_failed_attempt_and_is_retried(storefront, endpoint, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    endpoint.answer((200, 1.5))  # answers, but too late
    delivery = queue(storefront)
    start = timezone.now()
    delivery = webhooks.deliver(delivery.pk, now=start)
    assert delivery.state == State.PENDING and delivery.attempts == 1
    assert delivery.last_status_code is None and "no answer within 0.3 s" in delivery.last_error
    assert delivery.next_attempt_at == start + timedelta(seconds=30)
    delivery = webhooks.deliver(delivery.pk, now=delivery.next_attempt_at)
    assert delivery.state == State.DELIVERED and delivery.attempts == 2


def test_a_storefront_that_cannot_be_reached_is_retried(storefront, endpoint):
    closed = Receiver()  # bound, never listening: the connection is refused
    closed.server.server_close()
    Storefront.objects.filter(pk=storefront.pk).update(webhook_url=closed.url)
    delivery = webhooks.deliver(queue(storefront).pk)
    assert delivery.state == State.PENDING and delivery.attempts == 1
    assert delivery.last_status_code is None and "could not reach the storefront" in delivery.last_error


def test_a_redirect_is_not_followed_and_counts_as_a_failure(storefront, endpoint):
    endpoint.answer(301)
    delivery = webhooks.deliver(queue(storefront).pk)
    assert delivery.state == State.PENDING and delivery.last_status_code == 301
    assert len(endpoint.requests) == 1


def test_after_the_last_attempt_the_delivery_fails_and_staff_can_retry_it(storefront, endpoint, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    endpoint.answer(503, 503, 503)
    delivery = queue(storefront)
    now = timezone.now()
    waits = []
    for _attempt in range(3):
        delivery = webhooks.deliver(delivery.pk, now=now)
        if delivery.next_attempt_at:
            waits.append((delivery.next_attempt_at - now).total_seconds())
            now = delivery.next_attempt_at
    assert waits == [10, 20]
    assert delivery.state == State.FAILED and delivery.attempts == 3 and delivery.last_status_code == 503
    assert delivery.next_attempt_at is None and delivery.delivered_at is None
    assert webhooks.deliver(delivery.pk, now=now + timedelta(days=1)) is None
    assert webhooks.deliver_due(now=now + timedelta(days=1)) == 0
    assert len(endpoint.requests) == 3

    # "Retry now": pending again, due at once, with a fresh set of attempts; it is sent on commit.
    with pytest.raises(InvalidTransition):
        webhooks.retry_delivery(delivery=queue(storefront, key="another-event"))  # pending: retries by itself
    delivery = webhooks.retry_delivery(delivery=delivery)
    assert delivery.state == State.PENDING and delivery.attempts == 0 and delivery.next_attempt_at <= timezone.now()
    delivery = webhooks.deliver(delivery.pk)
    assert delivery.state == State.DELIVERED and delivery.attempts == 1


# --- queueing --------------------------------------------------------------------------------------


def test_no_webhook_url_queues_nothing(db, endpoint, django_capture_on_commit_callbacks):
    plain, _token = services.create_storefront(name="No hooks")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert queue(plain) is None
    assert callbacks == [] and not WebhookDelivery.objects.exists()
    assert services.ensure_webhook_secret(storefront=plain) == (plain, None)  # no URL, no secret either
    plain.refresh_from_db()
    assert plain.webhook_secret == ""


def test_an_inactive_storefront_is_not_told_anything(storefront, endpoint):
    Storefront.objects.filter(pk=storefront.pk).update(active=False)
    storefront.refresh_from_db()
    assert queue(storefront) is None
    assert not WebhookDelivery.objects.exists()


def test_the_same_key_twice_is_one_delivery_sent_once(storefront, endpoint, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = queue(storefront)
        second = queue(storefront, payload={"something": "else"})
    assert second.pk == first.pk
    assert WebhookDelivery.objects.count() == 1
    assert len(endpoint.requests) == 1
    assert json.loads(endpoint.requests[0]["body"])["data"]["order"] == "SO00000042"


def test_an_event_queued_in_a_transaction_that_rolls_back_is_never_sent(
    storefront, endpoint, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        queue(storefront)
        raise RuntimeError("the repricing failed")
    assert callbacks == [] and not WebhookDelivery.objects.exists()
    assert endpoint.requests == []


def test_bad_arguments_are_refused(storefront):
    with pytest.raises(ValidationFailed) as refused:
        webhooks.queue_webhook(storefront=storefront, event=" ", payload=[], key="")
    assert set(refused.value.fields) == {"event", "key", "payload"}
    with pytest.raises(ValidationFailed):
        webhooks.queue_webhook(storefront=storefront, event="order.repriced", payload={}, key="k" * 201)


def test_the_database_keeps_delivered_at_and_next_attempt_consistent_with_the_state(storefront):
    delivery = queue(storefront)
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(delivered_at=timezone.now())  # still pending
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(state=State.DELIVERED, next_attempt_at=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(state=State.FAILED)  # a failed row is never due
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(state="lost", next_attempt_at=None)


# --- the sweep and concurrent workers -------------------------------------------------------------


def test_the_sweep_sends_only_due_deliveries(storefront, endpoint):
    now = timezone.now()
    due = queue(storefront, key="due")
    later = queue(storefront, key="later")
    delivered = queue(storefront, key="delivered")
    failed = queue(storefront, key="failed")
    WebhookDelivery.objects.filter(pk=due.pk).update(next_attempt_at=now - timedelta(minutes=1))
    WebhookDelivery.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(minutes=10))
    WebhookDelivery.objects.filter(pk=delivered.pk).update(
        state=State.DELIVERED, next_attempt_at=None, delivered_at=now
    )
    WebhookDelivery.objects.filter(pk=failed.pk).update(state=State.FAILED, next_attempt_at=None)

    assert webhooks.deliver_due(now=now) == 1
    assert [r["headers"]["X-Aftersales-Delivery"] for r in endpoint.requests] == ["due"]
    states = dict(WebhookDelivery.objects.values_list("key", "state"))
    assert states == {"due": "delivered", "later": "pending", "delivered": "delivered", "failed": "failed"}

    # The periodic task runs the same sweep on the clock.
    WebhookDelivery.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now())
    assert sweep_webhooks() == 1
    assert [r["headers"]["X-Aftersales-Delivery"] for r in endpoint.requests] == ["due", "later"]


def test_a_delivery_being_sent_is_not_sent_by_a_second_worker(storefront, endpoint):
    delivery = queue(storefront)
    start = timezone.now()
    claimed = webhooks.claim(delivery.pk, now=start)  # worker 1 is mid-call
    assert claimed.attempts == 1
    assert claimed.next_attempt_at >= start + webhooks.claim_lease()
    assert webhooks.deliver(delivery.pk, now=start) is None  # worker 2: nothing to do
    assert webhooks.deliver_due(now=start + timedelta(seconds=5)) == 0
    assert endpoint.requests == []


def test_a_worker_that_died_mid_call_leaves_the_delivery_due_again(storefront, endpoint):
    delivery = queue(storefront)
    start = timezone.now()
    claimed = webhooks.claim(delivery.pk, now=start)  # … and the worker was killed
    after_the_claim = claimed.next_attempt_at
    assert webhooks.deliver_due(now=after_the_claim) == 1
    delivery.refresh_from_db()
    assert delivery.state == State.DELIVERED and delivery.attempts == 2
    # The dead worker's attempt, if it ever reports, does not undo the delivery.
    late = webhooks.record(claimed, webhooks.Outcome(delivered=False, status_code=500, error="late"))
    assert late.state == State.DELIVERED and late.last_error == ""


def test_a_late_failure_from_an_older_attempt_does_not_overwrite_a_newer_one(storefront, endpoint):
    delivery = queue(storefront)
    start = timezone.now()
    first = webhooks.claim(delivery.pk, now=start)
    second = webhooks.claim(delivery.pk, now=first.next_attempt_at)  # the first claim ran out
    assert second.attempts == 2
    webhooks.record(first, webhooks.Outcome(delivered=False, status_code=500, error="old"), now=start)
    delivery.refresh_from_db()
    assert delivery.last_error == "" and delivery.next_attempt_at == second.next_attempt_at


def test_a_worker_that_died_on_the_last_attempt_fails_the_delivery(storefront, endpoint, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    delivery = queue(storefront)
    claimed = webhooks.claim(delivery.pk)
    assert webhooks.deliver(delivery.pk, now=claimed.next_attempt_at) is None
    delivery.refresh_from_db()
    assert delivery.state == State.FAILED and "recorded no outcome" in delivery.last_error
    assert endpoint.requests == []


def test_a_storefront_without_a_secret_is_not_sent_unsigned_requests(storefront, endpoint):
    Storefront.objects.filter(pk=storefront.pk).update(webhook_secret="")
    delivery = webhooks.deliver(queue(storefront).pk)
    assert delivery.state == State.PENDING and "no webhook signing secret" in delivery.last_error
    assert endpoint.requests == []


# --- the dashboard ---------------------------------------------------------------------------------


@pytest.fixture
def superuser(db):
    return factories.StaffFactory(is_superuser=True, role="supervisor")


def test_setting_a_first_webhook_url_shows_the_generated_secret_once(client, superuser, endpoint):
    plain, _token = services.create_storefront(name="Hooked shop")
    client.force_login(superuser)
    url = reverse("admin:orders_storefront_change", args=[plain.pk])
    assert "webhook_url" in client.get(url).content.decode()
    response = client.post(url, {"name": plain.name, "active": "on", "webhook_url": "ftp://files.example.com/in"})
    assert response.status_code == 200 and response.context["adminform"].form.errors["webhook_url"]
    plain.refresh_from_db()
    assert plain.webhook_url == "" and plain.webhook_secret == ""
    form = {"name": plain.name, "active": "on", "webhook_url": endpoint.url}
    response = client.post(url, form)
    assert response.status_code == 200  # the secret's page, not the usual redirect
    plain.refresh_from_db()
    assert plain.webhook_url == endpoint.url and plain.webhook_secret.startswith("whsec_")
    assert plain.webhook_secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    # Afterwards only its first characters are shown; saving again keeps the secret.
    page = client.get(url).content.decode()
    assert plain.webhook_secret not in page and services.webhook_secret_hint(plain) in page
    response = client.post(url, form)
    assert response.status_code == 302
    secret = plain.webhook_secret
    plain.refresh_from_db()
    assert plain.webhook_secret == secret


def test_staff_rotate_the_secret_and_see_the_new_one_once(client, superuser, storefront):
    old = storefront.webhook_secret
    client.force_login(superuser)
    response = client.post(
        reverse("admin:orders_storefront_changelist"),
        {"action": "rotate_webhook_secret", "_selected_action": [storefront.pk]},
    )
    assert response.status_code == 200
    storefront.refresh_from_db()
    assert storefront.webhook_secret != old and storefront.webhook_secret in response.content.decode()
    assert storefront.webhook_secret not in client.get(reverse("admin:orders_storefront_changelist")).content.decode()


def test_a_supervisor_sees_failed_deliveries_and_retries_them(
    client, storefront, endpoint, django_capture_on_commit_callbacks
):
    delivery = queue(storefront)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=State.FAILED, next_attempt_at=None, attempts=8, last_error="503 storefront says no"
    )
    supervisor = factories.StaffFactory(role="supervisor")
    client.force_login(supervisor)
    changelist = reverse("admin:orders_webhookdelivery_changelist")
    page = client.get(changelist, {"state__exact": "failed"}).content.decode()
    assert delivery.key in page and "retry_now" in page
    assert client.get(reverse("admin:orders_webhookdelivery_change", args=[delivery.pk])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(changelist, {"action": "retry_now", "_selected_action": [delivery.pk]}, follow=True)
    assert "1 delivery will be tried again now." in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.state == State.DELIVERED and delivery.attempts == 1  # nudged on commit, sent eagerly
    assert len(endpoint.requests) == 1


def test_an_agent_cannot_see_webhook_deliveries(client, storefront):
    client.force_login(factories.StaffFactory(role="agent"))
    assert client.get(reverse("admin:orders_webhookdelivery_changelist")).status_code == 403
