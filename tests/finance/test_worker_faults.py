"""R-FIN-4 with real processes: a Celery worker killed (SIGKILL) after the sandbox gateway paid a
refund but before the worker recorded it. The next worker's beat finds the refund stalled, asks the
gateway again with the same idempotency key, and records it paid: the money moved once."""

import signal
import time
from decimal import Decimal

import pytest
from celery import current_app

from aftersales.finance import services as finance
from aftersales.finance.models import Refund
from tests.cases.test_worker import start_worker, stop_worker
from tests.finance.conftest import NO_FAULTS
from tests.finance.test_queue import order_paid

WAIT_SECONDS = 60


def wait_for(condition, what: str, processes=(), seconds=WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        for process, log in processes:
            assert process.poll() is None, f"the worker exited early:\n{log.read_text(errors='replace')[-4000:]}"
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.worker
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")  # send_task is meant to reach the broker
@pytest.mark.django_db(transaction=True)
def test_R_FIN_4_a_worker_killed_after_the_gateway_paid_pays_once(tmp_path, sandbox):
    order = order_paid("500.00")
    sandbox.control("POST", "/payments", json={"reference": order.number, "amount": "500.00", "currency": "CNY"})
    refund = finance.request_refund(
        order=order, source=Refund.Source.GOODWILL, amount=Decimal("120.00"), idempotency_key="killed-worker"
    )
    # Approved without the approval's nudge: in tests that nudge would pay it in this very process.
    Refund.objects.filter(pk=refund.pk).update(state="approved")
    gateway_env = {"PAYMENT_GATEWAY_URL": sandbox.url, "PAYMENT_GATEWAY_TIMEOUT_SECONDS": "60"}
    before = sandbox.refunds_executed()
    sandbox.faults(timeout_next=1, hang_seconds=30)  # pays, then keeps the worker waiting

    first, first_log = start_worker(tmp_path, beat=False, extra_env=gateway_env, name="first-worker")
    try:
        current_app.send_task("aftersales.finance.tasks.execute_refund", args=[refund.pk])  # the broker, not eager
        wait_for(
            lambda: sandbox.refunds_executed() == before + 1 and Refund.objects.get(pk=refund.pk).state == "processing",
            "the gateway to pay while the worker waits for its answer",
            [(first, first_log)],
        )
    finally:
        stop_worker(first, signal.SIGKILL)
    sandbox.faults(**NO_FAULTS)
    assert Refund.objects.get(pk=refund.pk).state == "processing"  # the worker died before recording

    second, second_log = start_worker(
        tmp_path,
        extra_env={**gateway_env, "REFUND_PROCESSING_STALE_SECONDS": "1", "REFUND_SWEEP_INTERVAL_SECONDS": "1"},
        name="second-worker",
    )
    try:
        wait_for(lambda: Refund.objects.get(pk=refund.pk).state == "succeeded", "the sweeper", [(second, second_log)])
    finally:
        stop_worker(second)

    refund.refresh_from_db()
    assert refund.attempts == 2 and refund.gateway_reference
    assert "requeued" in refund.events.values_list("action", flat=True)
    assert sandbox.refunds_executed() == before + 1  # paid once, by the first worker's call


def _paid_by(log) -> list[int]:
    """What each pay_due_refunds run of a worker paid, from its log ("… succeeded in 0.4s: 20")."""
    return [
        int(line.rsplit(":", 1)[1])
        for line in log.read_text(errors="replace").splitlines()
        if "pay_due_refunds" in line and " succeeded in " in line
    ]


@pytest.mark.worker
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")  # send_task is meant to reach the broker
@pytest.mark.django_db(transaction=True)
def test_R_FIN_4_a_backlog_calls_for_help_and_each_refund_is_paid_once(tmp_path, sandbox):
    refunds = []
    for n in range(45):
        order = order_paid("100.00")
        sandbox.control("POST", "/payments", json={"reference": order.number, "amount": "100.00", "currency": "CNY"})
        refunds.append(
            finance.request_refund(
                order=order, source=Refund.Source.GOODWILL, amount=Decimal("60.00"), idempotency_key=f"backlog-{n}"
            )
        )
    Refund.objects.filter(pk__in=[r.pk for r in refunds]).update(state="approved")  # a backlog, no nudges yet
    before = sandbox.refunds_executed()
    # A cache both workers see (files here; Redis in production), so a full batch's call for help is one message.
    shared = {"PAYMENT_GATEWAY_URL": sandbox.url, "CACHE_URL": f"filecache://{tmp_path / 'cache'}"}
    workers = [start_worker(tmp_path, beat=False, extra_env=shared, name=f"payer-{n}") for n in (1, 2)]
    try:
        wait_for(lambda: all(b"ready" in log.read_bytes() for _p, log in workers), "both workers", workers)
        current_app.send_task("aftersales.finance.tasks.pay_due_refunds")  # one nudge for the whole backlog
        wait_for(
            lambda: not Refund.objects.filter(pk__in=[r.pk for r in refunds]).exclude(state="succeeded").exists(),
            "every refund paid",
            workers,
        )
        # The first batch was full, so the worker called for help: a second run, on whichever worker was
        # free (the first may have paid everything meanwhile; then the helper finds nothing).
        wait_for(lambda: len(runs_of(workers)) >= 2, "the call for help to be answered", workers)
    finally:
        for process, _log in workers:
            stop_worker(process)
    assert sum(runs_of(workers)) == 45  # each refund paid by exactly one run
    assert sandbox.refunds_executed() == before + 45  # each refund's money moved once


def runs_of(workers) -> list[int]:
    return [paid for _process, log in workers for paid in _paid_by(log)]
