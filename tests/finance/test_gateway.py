"""The payment gateway interface against the sandbox provider, a real process spoken to over HTTP.

R-FIN-4 starts here: the same idempotency key never pays twice, whatever is repeated, and no answer
(a timeout, a provider that is down) is "unknown", never "failed", so the caller retries with the
same key instead of paying again under a new one."""

import ast
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from aftersales.finance.gateways import RefundStatus, get_gateway
from aftersales.finance.gateways.sandbox import SandboxGateway
from tests.finance.conftest import Sandbox


def new_payment(gateway: SandboxGateway, amount: str = "100.00") -> str:
    reference = f"PAY-{uuid.uuid4().hex[:12]}"
    gateway.capture(reference=reference, amount=Decimal(amount), currency="CNY")
    return reference


def refund(gateway: SandboxGateway, payment: str, amount: str, key: str | None = None):
    key = key or f"refund-{uuid.uuid4().hex}"
    return gateway.refund(payment_reference=payment, amount=Decimal(amount), currency="CNY", idempotency_key=key)


def test_a_refund_succeeds_and_the_provider_books_it(gateway, sandbox):
    payment = new_payment(gateway)
    outcome = refund(gateway, payment, "30.05")
    assert outcome.status == RefundStatus.SUCCEEDED
    assert outcome.gateway_reference.startswith("sbx_rf_")
    assert not outcome.retry_with_same_key
    assert sandbox.control("GET", f"/payments/{payment}")["refunded"] == "30.05"


def test_R_FIN_4_the_same_key_twice_pays_once_and_answers_the_same(gateway, sandbox):
    payment, key = new_payment(gateway), "refund-twice"
    before = sandbox.refunds_executed()
    first = refund(gateway, payment, "10.00", key)
    second = refund(gateway, payment, "10.00", key)
    assert first == second
    assert first.status == RefundStatus.SUCCEEDED
    assert sandbox.refunds_executed() == before + 1
    assert sandbox.control("GET", f"/payments/{payment}")["refunded"] == "10.00"


def test_R_FIN_4_the_same_key_from_many_threads_at_once_pays_once(gateway, sandbox):
    payment, before = new_payment(gateway), sandbox.refunds_executed()
    outcomes = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(refund(gateway, payment, "10.00", "refund-racing")))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {outcome.status for outcome in outcomes} == {RefundStatus.SUCCEEDED}
    assert len({outcome.gateway_reference for outcome in outcomes}) == 1
    assert sandbox.refunds_executed() == before + 1


def test_the_same_key_with_another_amount_is_refused_for_good(gateway, sandbox):
    payment = new_payment(gateway)
    assert refund(gateway, payment, "10.00", "refund-changed").status == RefundStatus.SUCCEEDED
    before = sandbox.refunds_executed()
    outcome = refund(gateway, payment, "10.01", "refund-changed")
    assert outcome.status == RefundStatus.FAILED
    assert outcome.transient is False and not outcome.retry_with_same_key
    assert "already used for a different refund request" in outcome.message
    assert sandbox.refunds_executed() == before


def test_a_refund_above_what_was_captured_is_refused_for_good_to_the_cent(gateway):
    payment = new_payment(gateway, "100.00")
    assert refund(gateway, payment, "60.00").status == RefundStatus.SUCCEEDED
    refused = refund(gateway, payment, "40.01", "refund-too-much")
    assert refused.status == RefundStatus.FAILED and refused.transient is False
    assert "amount_exceeds_captured" in refused.message and "only 40.00" in refused.message
    # The refusal is stored under its key: asking again answers the same, and so does the status.
    assert refund(gateway, payment, "40.01", "refund-too-much") == refused
    assert gateway.refund_status(idempotency_key="refund-too-much").status == RefundStatus.FAILED
    assert refund(gateway, payment, "40.00").status == RefundStatus.SUCCEEDED


def test_refunds_racing_on_one_payment_never_exceed_the_capture(gateway, sandbox):
    payment, before = new_payment(gateway, "100.00"), sandbox.refunds_executed()
    outcomes = []
    threads = [threading.Thread(target=lambda: outcomes.append(refund(gateway, payment, "20.00"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [o.status for o in outcomes].count(RefundStatus.SUCCEEDED) == 5
    assert [o.status for o in outcomes].count(RefundStatus.FAILED) == 3
    assert sandbox.refunds_executed() == before + 5
    assert sandbox.control("GET", f"/payments/{payment}")["refunded"] == "100.00"


def test_an_unknown_payment_is_refused_for_good(gateway):
    outcome = refund(gateway, "PAY-nobody", "1.00")
    assert outcome.status == RefundStatus.FAILED and outcome.transient is False
    assert "payment_not_found" in outcome.message


def test_a_transient_failure_pays_nothing_and_the_retry_with_the_same_key_pays(gateway, sandbox):
    payment, key = new_payment(gateway), "refund-after-503"
    before = sandbox.refunds_executed()
    sandbox.faults(fail_next=1)
    failed = refund(gateway, payment, "25.00", key)
    assert failed.status == RefundStatus.FAILED and failed.transient is True and failed.retry_with_same_key
    assert "503 unavailable" in failed.message
    assert gateway.refund_status(idempotency_key=key).status == RefundStatus.NOT_FOUND
    paid = refund(gateway, payment, "25.00", key)
    assert paid.status == RefundStatus.SUCCEEDED
    assert sandbox.refunds_executed() == before + 1


def wait_for_refund(gateway, key, seconds=10):
    """The provider's answer for `key` once it has one: a request we gave up on may still be on its way."""
    deadline = time.monotonic() + seconds
    while (status := gateway.refund_status(idempotency_key=key)).status == RefundStatus.NOT_FOUND:
        assert time.monotonic() < deadline, "the refund never arrived at the provider"
        time.sleep(0.1)
    return status


def test_R_FIN_4_a_timeout_is_unknown_and_the_money_moved_exactly_once(gateway, sandbox):
    """The dangerous case: the provider pays, then we stop listening before it answers."""
    payment, key = new_payment(gateway), "refund-timed-out"
    before = sandbox.refunds_executed()
    sandbox.faults(timeout_next=1, hang_seconds=10)
    started = time.monotonic()
    outcome = refund(gateway, payment, "42.00", key)
    assert time.monotonic() - started < 5  # the client's 2 s timeout, not the provider's 10 s hang
    assert outcome.status == RefundStatus.UNKNOWN and outcome.retry_with_same_key
    assert "Timeout" in outcome.message
    # On a loaded machine the provider may still be writing its books when we give up: wait for them.
    status = wait_for_refund(gateway, key)
    assert status.status == RefundStatus.SUCCEEDED
    retried = refund(gateway, payment, "42.00", key)
    assert retried.status == RefundStatus.SUCCEEDED
    assert retried.gateway_reference == status.gateway_reference
    assert sandbox.refunds_executed() == before + 1
    assert sandbox.control("GET", f"/payments/{payment}")["refunded"] == "42.00"


def test_a_provider_slower_than_the_timeout_is_unknown_and_may_still_pay(gateway, sandbox):
    payment, key = new_payment(gateway), "refund-slow"
    sandbox.faults(delay_seconds=4)
    assert refund(gateway, payment, "5.00", key).status == RefundStatus.UNKNOWN
    sandbox.faults(delay_seconds=0)
    # The request we gave up on is still on its way inside the provider, and pays when it arrives.
    status = wait_for_refund(gateway, key)
    assert status.status == RefundStatus.SUCCEEDED
    assert refund(gateway, payment, "5.00", key).gateway_reference == status.gateway_reference


def test_a_provider_that_is_down_is_unknown_not_failed(gateway, sandbox):
    """`down` drops each call without an answer: unknown (retry with the same key), never failed."""
    payment, key = new_payment(gateway), "refund-while-down"
    before = sandbox.refunds_executed()
    sandbox.faults(down=True)
    outcome = refund(gateway, payment, "7.00", key)
    assert outcome.status == RefundStatus.UNKNOWN and outcome.retry_with_same_key
    assert gateway.refund_status(idempotency_key=key).status == RefundStatus.UNKNOWN
    sandbox.faults(down=False)
    assert sandbox.refunds_executed() == before
    assert refund(gateway, payment, "7.00", key).status == RefundStatus.SUCCEEDED


def test_a_wrong_secret_is_refused_for_good(sandbox):
    outcome = refund(SandboxGateway(url=sandbox.url, secret="not-the-secret"), "PAY-x", "1.00")
    assert outcome.status == RefundStatus.FAILED and outcome.transient is False
    assert "401 unauthorized" in outcome.message


def test_a_stopped_provider_is_unknown_and_a_restart_keeps_its_books(tmp_path):
    own = Sandbox(tmp_path)
    own.start()
    try:
        gateway = SandboxGateway(url=own.url, timeout_seconds=2)
        payment = new_payment(gateway)
        paid = refund(gateway, payment, "12.34", "refund-before-restart")
        own.stop()
        assert refund(gateway, payment, "1.00", "refund-while-stopped").status == RefundStatus.UNKNOWN
        assert gateway.refund_status(idempotency_key="refund-before-restart").status == RefundStatus.UNKNOWN
        own.start()
        assert gateway.refund_status(idempotency_key="refund-before-restart") == paid
        assert refund(gateway, payment, "12.34", "refund-before-restart") == paid
        assert own.refunds_executed() == 1
        assert own.control("GET", f"/payments/{payment}")["refunded"] == "12.34"
    finally:
        own.stop()


def test_refunds_on_lists_the_refunds_that_moved_money_that_day(gateway):
    payment = new_payment(gateway, "50.00")
    first = refund(gateway, payment, "20.00", f"day-a-{payment}")
    second = refund(gateway, payment, "30.00", f"day-b-{payment}")
    refused = refund(gateway, payment, "0.01", f"day-c-{payment}")
    assert refused.status == RefundStatus.FAILED
    today = timezone.localdate()  # the shop's day (TIME_ZONE), as reconciliation asks for it
    listed = {r.idempotency_key: r for r in gateway.refunds_on(today) if r.payment_reference == payment}
    assert set(listed) == {f"day-a-{payment}", f"day-b-{payment}"}
    assert listed[f"day-a-{payment}"].reference == first.gateway_reference
    assert listed[f"day-b-{payment}"].reference == second.gateway_reference
    assert listed[f"day-b-{payment}"].amount == Decimal("30.00") and listed[f"day-b-{payment}"].currency == "CNY"
    assert timezone.localdate(listed[f"day-b-{payment}"].created_at) == today
    assert not [r for r in gateway.refunds_on(today - timedelta(days=1)) if r.payment_reference == payment]


def test_amounts_are_decimals_never_floats(gateway):
    with pytest.raises(TypeError, match="Decimal"):
        gateway.refund(payment_reference="PAY-x", amount=1.5, currency="CNY", idempotency_key="float")


def test_get_gateway_follows_the_setting(settings, sandbox):
    settings.PAYMENT_GATEWAY_URL = sandbox.url
    gateway = get_gateway()
    assert isinstance(gateway, SandboxGateway) and gateway.url == sandbox.url
    assert refund(gateway, new_payment(gateway), "1.00").status == RefundStatus.SUCCEEDED
    settings.PAYMENT_GATEWAY = "alipay"
    with pytest.raises(ImproperlyConfigured, match="alipay"):
        get_gateway()


def test_the_sandbox_provider_does_not_import_django():
    """It stands for someone else's system: its own code imports the standard library only."""
    package = Path(__file__).resolve().parents[2] / "aftersales" / "finance" / "sandbox"
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            assert not [n for n in names if n.split(".")[0] == "django"], source.name
