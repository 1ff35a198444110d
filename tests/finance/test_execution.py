"""Paying approved refunds through the sandbox gateway, a real process (R-FIN-4): exactly once,
whatever fails — timeouts, transient errors, a worker dying mid-refund, the provider down, two
workers racing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.finance import execution
from aftersales.finance import services as finance
from aftersales.finance.models import Refund
from aftersales.finance.tasks import sweep_refunds
from tests.finance.test_queue import order_paid

pytestmark = pytest.mark.django_db


def approved_refund(finance_staff, gateway, amount="300.00", *, captured=None, key=None, **kwargs):
    order = order_paid("1000.00")
    gateway.capture(reference=order.number, amount=Decimal(captured or "1000.00"), currency="CNY")
    refund = finance.request_refund(
        order=order,
        source=Refund.Source.GOODWILL,
        amount=Decimal(amount),
        idempotency_key=key or f"{order.number}:refund",
        **kwargs,
    )
    return finance.approve_refund(refund=refund, actor=finance_staff)


def test_R_FIN_4_an_approved_refund_is_paid_once(live, gateway, finance_staff):
    before = live.refunds_executed()
    refund = approved_refund(finance_staff, gateway)
    paid = execution.execute(refund.pk)
    assert paid.state == "succeeded" and paid.gateway_reference and paid.paid_at is not None
    assert paid.attempts == 1
    assert execution.execute(refund.pk) is None  # nothing due any more
    assert live.refunds_executed() == before + 1
    assert list(paid.events.values_list("action", flat=True)) == ["requested", "approved", "processing", "paid"]


def test_R_FIN_4_a_transient_failure_backs_off_and_retries_with_the_same_key(live, gateway, finance_staff):
    before = live.refunds_executed()
    refund = approved_refund(finance_staff, gateway)
    live.faults(fail_next=1)
    refund = execution.execute(refund.pk)
    assert refund.state == "approved" and refund.attempts == 1 and refund.last_error
    assert refund.next_attempt_at > timezone.now()
    assert execution.execute(refund.pk) is None  # not before its next attempt
    Refund.objects.filter(pk=refund.pk).update(next_attempt_at=timezone.now())
    assert execution.execute(refund.pk).state == "succeeded"
    assert live.refunds_executed() == before + 1


def test_R_FIN_4_a_gateway_timeout_is_unknown_and_never_pays_twice(live, gateway, finance_staff):
    """The sandbox pays, then answers too late: we don't know, so we ask again with the same key."""
    before = live.refunds_executed()
    refund = approved_refund(finance_staff, gateway)
    live.faults(timeout_next=1, hang_seconds=4)
    refund = execution.execute(refund.pk)
    assert refund.state == "approved" and "unknown" in refund.events.last().data["status"]
    assert live.wait_for_refunds_executed(before + 1) == before + 1  # the money did move
    Refund.objects.filter(pk=refund.pk).update(next_attempt_at=None)
    assert execution.execute(refund.pk).state == "succeeded"
    assert live.refunds_executed() == before + 1  # and only once


def test_R_FIN_4_a_worker_killed_after_the_gateway_paid_is_finished_by_the_sweeper(live, gateway, finance_staff):
    before = live.refunds_executed()
    refund = approved_refund(finance_staff, gateway)
    [claimed] = execution.claim(refund_id=refund.pk)
    execution.pay(claimed)  # the gateway paid … and the worker died before recording it
    assert Refund.objects.get(pk=refund.pk).state == "processing"
    assert execution.requeue_stalled() == 0  # not stale yet
    later = timezone.now() + timedelta(minutes=10)
    assert execution.requeue_stalled(now=later) == 1
    assert sweep_refunds()["executed"] == 1
    refund.refresh_from_db()
    assert refund.state == "succeeded" and refund.attempts == 2
    assert live.refunds_executed() == before + 1


def test_R_FIN_4_while_the_gateway_is_down_refunds_wait_then_complete(live, gateway, finance_staff):
    refund = approved_refund(finance_staff, gateway)
    live.faults(down=True)
    assert execution.execute(refund.pk).state == "approved"
    live.faults(down=False)
    Refund.objects.filter(pk=refund.pk).update(next_attempt_at=None)
    refund = execution.execute(refund.pk)
    assert refund.state == "succeeded", list(refund.events.values_list("action", "data"))


def test_R_FIN_4_a_permanent_refusal_fails_for_finance_to_retry_or_resolve(live, gateway, finance_staff):
    refund = approved_refund(finance_staff, gateway, "300.00", captured="100.00")  # more than was captured
    refund = execution.execute(refund.pk)
    assert refund.state == "failed" and refund.last_error
    assert finance.retry_refund(refund=refund, actor=finance_staff).state == "approved"


def test_R_FIN_4_unsettled_after_the_last_attempt_fails(live, gateway, finance_staff, settings):
    settings.REFUND_MAX_ATTEMPTS = 2
    refund = approved_refund(finance_staff, gateway)
    live.faults(fail_next=2)
    assert execution.execute(refund.pk).state == "approved"
    Refund.objects.filter(pk=refund.pk).update(next_attempt_at=None)
    assert execution.execute(refund.pk).state == "failed"


def test_R_FIN_2_bank_transfers_wait_for_the_transfer_batch(live, gateway, finance_staff):
    refund = approved_refund(
        finance_staff,
        gateway,
        destination=Refund.Destination.BANK_TRANSFER,
        bank_account_name="李明",
        bank_account_number="6225880137706868",
    )
    assert execution.execute(refund.pk) is None
    assert Refund.objects.get(pk=refund.pk).state == "approved"


def test_R_FIN_4_a_worker_claims_the_oldest_due_refunds_as_a_batch(live, gateway, finance_staff):
    first, second, third = (approved_refund(finance_staff, gateway) for _ in range(3))
    claimed = execution.claim(limit=2)
    assert [refund.pk for refund in claimed] == [first.pk, second.pk]
    for refund in claimed:
        refund.refresh_from_db()
        assert refund.state == "processing" and refund.attempts == 1
        assert refund.events.last().action == "processing" and refund.events.last().data == {"attempt": 1}
    assert [refund.pk for refund in execution.claim(limit=2)] == [third.pk]  # the others are taken
    assert execution.claim(limit=2) == []


def test_R_FIN_4_paying_what_is_due_goes_batch_by_batch_and_pays_each_once(live, gateway, finance_staff, monkeypatch):
    monkeypatch.setattr(execution, "BATCH", 2)
    before = live.refunds_executed()
    refunds = [approved_refund(finance_staff, gateway) for _ in range(5)]
    assert execution.execute_due() == 5
    assert set(Refund.objects.filter(pk__in=[r.pk for r in refunds]).values_list("state", flat=True)) == {"succeeded"}
    assert live.refunds_executed() == before + 5
    assert execution.execute_due() == 0


@pytest.fixture
def shared_cache(settings, tmp_path):
    """A cache every process sees (files here; Redis in production), so nudges can be coalesced."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
    }


def test_R_FIN_4_a_nudge_while_one_waits_in_the_queue_is_dropped(live, gateway, finance_staff, shared_cache):
    from django.core.cache import cache

    cache.add(execution.NUDGE_KEY, True)  # a nudge waiting in the queue
    refund = approved_refund(finance_staff, gateway)
    execution.nudge()  # dropped: the waiting one will pay this refund
    assert Refund.objects.get(pk=refund.pk).state == "approved"
    from aftersales.finance.tasks import pay_due_refunds

    assert pay_due_refunds() == 1  # the waiting nudge reaches a worker
    assert Refund.objects.get(pk=refund.pk).state == "succeeded"
    later = approved_refund(finance_staff, gateway)
    execution.nudge()  # nothing waits any more: sent (and run at once, tasks are eager in tests)
    assert Refund.objects.get(pk=later.pk).state == "succeeded"


def test_R_FIN_4_without_a_shared_cache_every_nudge_is_sent(live, gateway, finance_staff):
    from django.core.cache import cache

    cache.add(execution.NUDGE_KEY, True)  # this process's own cache: other processes can't clear it
    refund = approved_refund(finance_staff, gateway)
    execution.nudge()
    assert Refund.objects.get(pk=refund.pk).state == "succeeded"
    cache.delete(execution.NUDGE_KEY)


def test_R_FIN_4_a_worker_with_a_full_batch_calls_another_to_help(
    live, gateway, finance_staff, shared_cache, monkeypatch
):
    from aftersales.finance import tasks

    monkeypatch.setattr(execution, "BATCH", 2)
    helpers = []
    monkeypatch.setattr(tasks.pay_due_refunds, "delay", lambda: helpers.append("nudged"))  # the broker's side
    for _ in range(5):
        approved_refund(finance_staff, gateway)
    assert tasks.pay_due_refunds() == 5
    assert helpers == ["nudged"]  # one waiting nudge at a time, however many full batches
    assert execution.execute_due(call_for_help=False) == 0


def test_backoff_doubles_up_to_an_hour(settings):
    settings.REFUND_RETRY_BASE_SECONDS = 30
    assert [execution.backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert execution.backoff(20).total_seconds() == 3600


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_R_FIN_4_two_workers_racing_on_one_refund_pay_it_once(live, gateway, finance_staff):
    from tests.cases.test_concurrency import run_together

    before = live.refunds_executed()
    refunds = []
    for n in range(5):  # approved without the nudge, which would pay it at once in this test run
        order = order_paid("1000.00")
        gateway.capture(reference=order.number, amount=Decimal("1000.00"), currency="CNY")
        refund = finance.request_refund(
            order=order, source=Refund.Source.GOODWILL, amount=Decimal("300.00"), idempotency_key=f"race-{n}"
        )
        Refund.objects.filter(pk=refund.pk).update(state="approved")
        refunds.append(refund)
    for refund in refunds:
        results = run_together(*[(lambda: None, lambda _state, pk=refund.pk: execution.execute(pk))] * 2)
        assert sorted(r is None for r in results) == [False, True], results
        refund.refresh_from_db()
        assert refund.state == "succeeded" and refund.attempts == 1
    assert live.refunds_executed() == before + len(refunds)


def test_the_demo_shops_online_payments_are_held_by_the_sandbox(settings, tmp_path):
    """`make run`: demo refunds can really be paid — the seed captured the orders' payments."""
    from django.core.management import call_command

    from aftersales.finance.demo import sandbox_store_path
    from aftersales.finance.sandbox.store import Store
    from aftersales.orders.models import Order

    settings.VAR_DIR = tmp_path
    call_command("seed_demo", stdout=None)
    store = Store(sandbox_store_path())
    prepaid = Order.objects.filter(payment_mode="prepaid", paid_at__isnull=False).first()
    assert store.payment(prepaid.number)["amount"] == str(prepaid.paid_total)
