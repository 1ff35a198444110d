"""R-FIN-4 with a real worker against the sandbox gateway while it is slow, failing and down, one fault
after another: answers slower than the worker's timeout (the provider pays; the worker cannot know),
transient 503s, then no answer at all for a while. Every refund ends up paid exactly once (the
gateway executed as many refunds as there are), none lost, none failed, each with one "paid" event.

What tests/finance already covers and this does not repeat: each fault alone, in-process
(test_execution.py), and a worker killed mid-refund (test_worker_faults.py)."""

import time
from collections import Counter
from decimal import Decimal

import pytest
from celery import current_app

from aftersales.finance import services as finance
from aftersales.finance.models import Refund, RefundEvent
from tests.cases.test_worker import start_worker, stop_worker
from tests.finance.conftest import NO_FAULTS
from tests.finance.test_queue import order_paid
from tests.finance.test_worker_faults import wait_for

REFUNDS = 8
TIMEOUT_SECONDS = 0.5


@pytest.mark.worker
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")  # send_task is meant to reach the broker
@pytest.mark.django_db(transaction=True)
def test_R_FIN_4_a_slow_failing_and_down_gateway_pays_each_refund_once(tmp_path, sandbox):
    refunds = []
    for n in range(REFUNDS):
        order = order_paid("200.00")
        sandbox.control("POST", "/payments", json={"reference": order.number, "amount": "200.00", "currency": "CNY"})
        refunds.append(
            finance.request_refund(
                order=order, source=Refund.Source.GOODWILL, amount=Decimal("75.00"), idempotency_key=f"faulty-{n}"
            )
        )
    ids = [r.pk for r in refunds]
    Refund.objects.filter(pk__in=ids).update(state="approved")  # approved, no nudge yet
    stats_before = sandbox.control("GET", "/_stats")
    env = {
        "PAYMENT_GATEWAY_URL": sandbox.url,
        "PAYMENT_GATEWAY_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
        "REFUND_RETRY_BASE_SECONDS": "0.2",  # backs off 0.2, 0.4, 0.8 … s
        "REFUND_MAX_ATTEMPTS": "30",
        "REFUND_SWEEP_INTERVAL_SECONDS": "1",
    }
    worker, log = start_worker(tmp_path, extra_env=env, name="gateway-faults")
    faults = []
    try:
        wait_for(lambda: b"ready" in log.read_bytes(), "the worker", [(worker, log)])
        unsettled = RefundEvent.objects.filter(refund__in=ids, action="attempt_unsettled")
        # 1. Down: every connection dropped without an answer (unknown: did it pay?).
        sandbox.faults(down=True)
        current_app.send_task("aftersales.finance.tasks.pay_due_refunds")
        wait_for(lambda: unsettled.count() >= 3, "calls to a gateway that is down", [(worker, log)])
        faults.append(f"down: {unsettled.count()} calls unanswered")
        # 2. Slower than the worker waits: each call times out (unknown), the provider pays anyway.
        seen = unsettled.count()
        sandbox.faults(down=False, delay_seconds=TIMEOUT_SECONDS * 3)
        wait_for(lambda: unsettled.count() >= seen + 3, "calls to time out", [(worker, log)])
        faults.append(f"slow: {unsettled.count() - seen} calls timed out")
        # 3. Transient failures: 503 without paying.
        sandbox.faults(delay_seconds=0, fail_next=4)
        wait_for(lambda: sandbox.faults()["fail_next"] == 0, "the failures to be answered", [(worker, log)])
        faults.append("failing: 4 calls answered 503")
        sandbox.faults(**NO_FAULTS)
        wait_for(
            lambda: not Refund.objects.filter(pk__in=ids).exclude(state="succeeded").exists(),
            "every refund paid",
            [(worker, log)],
            seconds=90,
        )
        time.sleep(2)  # a couple more sweeps: nothing is paid twice
    finally:
        sandbox.faults(**NO_FAULTS)
        stop_worker(worker)

    stats = sandbox.control("GET", "/_stats")
    executed = stats["refunds_executed"] - stats_before["refunds_executed"]
    calls = stats["refund_requests"] - stats_before["refund_requests"]
    unsettled = Counter(e.data.get("status") for e in unsettled)
    attempts = sum(Refund.objects.filter(pk__in=ids).values_list("attempts", flat=True))
    print(
        f"\ngateway faults ({'; '.join(faults)}): {REFUNDS} refunds, {calls} refund calls received, "
        f"{attempts} attempts, unsettled answers {dict(unsettled)}, {executed} executed"
    )
    assert executed == REFUNDS  # each refund's money moved once
    assert attempts > REFUNDS and sum(unsettled.values()) > 0  # the faults were felt
    paid = Counter(RefundEvent.objects.filter(refund__in=ids, action="paid").values_list("refund_id", flat=True))
    assert paid == Counter(dict.fromkeys(ids, 1))  # one "paid" event each
    for refund in Refund.objects.filter(pk__in=ids):
        assert refund.gateway_reference and refund.state == "succeeded"
