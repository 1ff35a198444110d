"""Redis stopped while customers keep submitting: a private redis-server is the broker (and the cache) of
a real gunicorn and a real Celery worker with beat. While it is down, customers keep filing returns,
tickets and price-protection claims and finance keeps approving refunds: every request succeeds
quickly and its rows are written; the tasks those requests queue after commit cannot reach the broker
(aftersales.common.queueing logs that and moves on). When Redis is back, beat's sweeps do the work: every
notification and ticket e-mail sent exactly once, every refund paid exactly once.

Without the sweeps' outbox rows a broker outage used to turn each of these requests into a 500 after
its commit (the customer retries: a second case) and lose the e-mail for good."""

import re
import subprocess
import sys
import time
from decimal import Decimal
from statistics import median

import httpx
import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from aftersales.cases.models import Case, Notification
from aftersales.finance import services as finance
from aftersales.finance.models import Refund
from priceprotect.models import PriceProtectionSettings
from techsupport.models import MailMessage, Team
from tests import factories
from tests.cases.test_worker import database_url, start_worker, stop_worker
from tests.faults.processes import BASE_DIR, Gunicorn, Redis, app_env, wait_until
from tests.finance.test_queue import order_paid
from tests.priceprotect.conftest import in_transit_order, price
from tests.returns.test_actions_api import body as return_body
from tests.returns.test_actions_api import make_order

ROUNDS_UP, ROUNDS_DOWN = 1, 3  # submissions of each kind with Redis up, then while it hangs or is down
REFUNDS_DOWN = 3
SLOW_SECONDS = 10  # a request may not wait on the missing broker longer than this (a loaded CI machine)
HUNG_SECONDS = 12  # nor on a hung one: two tries of at most REDIS_TIMEOUT_SECONDS (2 s here) each, once


def mails_sent(directory) -> int:
    """E-mails the file backend wrote (one Message-ID header each)."""
    return sum(len(re.findall(r"^Message-ID: ", p.read_text(errors="replace"), re.M)) for p in directory.glob("*"))


class Customer:
    def __init__(self, server_url: str):
        self.user = factories.CustomerFactory()
        self.http = httpx.Client(
            base_url=server_url, headers={"Authorization": f"Token {Token.objects.create(user=self.user).key}"}
        )
        self.return_orders = [make_order(self.user, price="299.00") for _ in range(ROUNDS_UP + ROUNDS_DOWN)]
        self.claim_orders = []
        for _ in range(ROUNDS_UP + ROUNDS_DOWN):
            order = in_transit_order(self.user)
            price(order.lines.get().product, "1899.00")
            self.claim_orders.append(order)

    def submit_all(self, round_no: int) -> list[tuple[str, int, float]]:
        """A return, a ticket and a price-protection claim: (what, status, seconds) of each."""
        calls = [
            ("return", "/api/v1/returns/", return_body(self.return_orders[round_no])),
            ("ticket", "/api/v1/tickets/", {"subject": f"Question {round_no}", "body": "Hello?", "category": "usage"}),
            ("claim", "/api/v1/price-protection/claims/", {"order": self.claim_orders[round_no].number}),
        ]
        results = []
        for what, path, data in calls:
            started = time.monotonic()
            response = self.http.post(path, json=data, timeout=30)
            results.append((what, response.status_code, time.monotonic() - started))
            assert response.status_code == 201, f"{what}: {response.status_code} {response.text[:2000]}"
        return results


APPROVE = """
import sys, time
import django
django.setup()
from aftersales.accounts.models import User
from aftersales.finance import services
from aftersales.finance.models import Refund
actor = User.objects.get(pk=int(sys.argv[1]))
for pk in map(int, sys.argv[2:]):
    started = time.monotonic()
    services.approve_refund(refund=Refund.objects.get(pk=pk), actor=actor)
    print("approved", pk, round(time.monotonic() - started, 3), flush=True)
"""


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_customers_keep_submitting_while_redis_is_down_and_the_work_catches_up(tmp_path, sandbox):
    redis = Redis(tmp_path)
    redis.start()
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    app_settings = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "CELERY_BROKER_URL": redis.url(0),
        "CACHE_URL": redis.url(1),
        "EMAIL_URL": f"filemail:///{mail_dir}",
        "PAYMENT_GATEWAY_URL": sandbox.url,
        "NOTIFICATION_EMAIL_SWEEP_INTERVAL_SECONDS": "1",
        "REFUND_SWEEP_INTERVAL_SECONDS": "1",
        "DEADLINE_SWEEP_INTERVAL_SECONDS": "1",
        "REDIS_TIMEOUT_SECONDS": "2",
    }
    env = app_env(**app_settings)
    Team.objects.create(code="first-line", name="First line", tier=1, lead=factories.StaffFactory(role="agent"))
    PriceProtectionSettings.objects.update_or_create(pk=1, defaults={"destination": "coupon"})
    finance_staff = factories.StaffFactory(role="finance")
    refunds = []
    for n in range(REFUNDS_DOWN):
        order = order_paid("100.00")
        sandbox.control("POST", "/payments", json={"reference": order.number, "amount": "100.00", "currency": "CNY"})
        refunds.append(
            finance.request_refund(
                order=order, source=Refund.Source.GOODWILL, amount=Decimal("40.00"), idempotency_key=f"redis-out-{n}"
            )
        )
    customers = []
    server = Gunicorn(tmp_path, env)
    worker = log = None
    try:
        server.start()
        customers = [Customer(server.url) for _ in range(2)]
        first_notification = (Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        executed_before = sandbox.refunds_executed()
        worker, log = start_worker(tmp_path, extra_env=app_settings)

        up = [r for c in customers for n in range(ROUNDS_UP) for r in c.submit_all(n)]

        redis.pause()  # first it hangs: a request waits REDIS_TIMEOUT_SECONDS per call, not forever
        hung = customers[0].submit_all(ROUNDS_UP)
        redis.resume()
        redis.stop()  # then the broker and the cache go away
        down = [r for c in customers for n in range(ROUNDS_UP + 1, ROUNDS_UP + ROUNDS_DOWN) for r in c.submit_all(n)]
        down += customers[1].submit_all(ROUNDS_UP)
        approving = subprocess.run(
            [sys.executable, "-c", APPROVE, str(finance_staff.pk), *[str(r.pk) for r in refunds]],
            cwd=BASE_DIR,
            env={**env, "DJANGO_SETTINGS_MODULE": "aftersales.settings"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert approving.returncode == 0, approving.stderr[-4000:]
        approvals = [float(line.split()[2]) for line in approving.stdout.splitlines() if line.startswith("approved")]
        assert len(approvals) == REFUNDS_DOWN and max(approvals) < SLOW_SECONDS, approving.stdout
        assert "broker unreachable" in approving.stderr  # the nudge was left to the sweep, loudly
        # What the requests wrote is there; what they queued is not done yet.
        cases = Case.objects.filter(customer__in=[c.user for c in customers])
        assert cases.count() == len(up) + len(hung) + len(down)
        assert set(Refund.objects.filter(pk__in=[r.pk for r in refunds]).values_list("state", flat=True)) == {
            "approved"
        }
        assert sandbox.refunds_executed() == executed_before
        unsent_while_down = Notification.objects.filter(pk__gte=first_notification, emailed_at__isnull=True).count()

        redis.start()  # back, empty: the messages queued before it stopped are gone too
        notifications = Notification.objects.filter(pk__gte=first_notification)
        ticket_mail = MailMessage.objects.filter(direction="out", case__in=cases)
        wait_until(
            lambda: (
                not notifications.filter(emailed_at__isnull=True).exists()
                and not ticket_mail.filter(sent_at__isnull=True).exists()
                and not Refund.objects.filter(pk__in=[r.pk for r in refunds]).exclude(state="succeeded").exists()
            ),
            "the sweeps to catch up",
            seconds=90,
            interval=0.5,
        )
        time.sleep(3)  # a few more sweeps: nothing is sent twice
    finally:
        if worker is not None:
            stop_worker(worker)
        server.stop()
        redis.stop()
        for customer in customers:
            customer.http.close()

    expected_mails = notifications.count()
    print(
        f"\nredis outage: {len(up)} requests with Redis up (median {median(s for *_, s in up):.2f} s), "
        f"{len(hung)} while it hung ({', '.join(f'{s:.2f}' for *_, s in hung)} s), "
        f"{len(down)} while down (median {median(s for *_, s in down):.2f} s, "
        f"slowest {max(s for *_, s in down):.2f} s) "
        f"and {len(approvals)} refund approvals while down "
        f"(slowest {max(approvals):.2f} s); "
        f"{unsent_while_down} notifications waiting while down; {expected_mails} e-mails sent once each after, "
        f"{REFUNDS_DOWN} refunds paid once"
    )
    assert all(status == 201 and seconds < SLOW_SECONDS for _what, status, seconds in up + down)
    assert all(status == 201 and seconds < HUNG_SECONDS for _what, status, seconds in hung)
    assert unsent_while_down > 0
    assert mails_sent(mail_dir) == expected_mails  # each notification and ticket e-mail once
    assert sandbox.refunds_executed() == executed_before + REFUNDS_DOWN  # each refund's money moved once
    assert " 500 " not in server.output() and "Traceback" not in server.output()
    assert "send_unsent_notification_emails" in log.read_text(errors="replace")
