"""R-FIN-1 … R-FIN-4 in a real browser: a finance officer's day in the staff dashboard's refund queue.
Three refunds wait for approval (R-FIN-1). One is approved and paid (R-FIN-3, R-FIN-4); one above the
second-approval amount (RefundSettings) takes two different approvers: the first cannot approve it twice,
the second releases it (R-FIN-3); one fails at the gateway, waits in the queue as failed and is retried to
paid (R-FIN-4). The day's reconciliation export (CSV) is downloaded and checked against the database, and
the page says the gateway's records agree with ours (R-FIN-4).

Payments go to the sandbox provider, a real process of its own for this module (tests.finance.conftest's
`Sandbox`), told to fail with its fault switch as tests/finance/test_execution.py does. Refund execution
is a Celery task; the tests run Celery eagerly (tests/conftest.py), so the nudge sent when an approval
commits pays the refund in the live server's request thread, through the same executor a worker runs."""

import csv
import re
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from aftersales.finance import services as finance
from aftersales.finance.gateways.sandbox import SandboxGateway
from aftersales.finance.models import Refund, RefundSettings
from tests import factories
from tests.finance.conftest import Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

QUEUE = reverse("admin:finance_refund_changelist")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A sandbox provider for this module only, so the day's reconciliation sees our refunds alone."""
    process = Sandbox(tmp_path_factory.mktemp("e2e-sandbox"))
    process.start()
    yield process
    process.stop()


@pytest.fixture
def gateway(settings, sandbox):
    settings.PAYMENT_GATEWAY_URL = sandbox.url
    # One attempt: a refund the gateway turns down (even for a moment) fails at once, for finance to
    # retry, rather than backing off for minutes (the default is 8 attempts).
    settings.REFUND_MAX_ATTEMPTS = 1
    return SandboxGateway(url=sandbox.url, timeout_seconds=5)


def queued_refund(gateway, amount: Decimal, requested_by) -> Refund:
    """A goodwill refund on a prepaid order whose payment the sandbox captured, waiting for finance."""
    order = factories.order_with_lines(lines=((amount + Decimal("100.00"), 1),), number=f"E2E{uuid.uuid4().hex[:12]}")
    gateway.capture(reference=order.number, amount=order.paid_total, currency=order.currency)
    return finance.request_refund(
        order=order,
        source=Refund.Source.GOODWILL,
        amount=amount,
        idempotency_key=f"e2e:{order.number}:goodwill",
        requested_by=requested_by,
    )


def open_refund(page, refund: Refund) -> None:
    page.locator("#result_list").get_by_role("link", name=str(refund.pk), exact=True).click()
    expect(page).to_have_url(re.compile(re.escape(refund_url(refund)) + r"(\?|$)"))  # keeps the queue's filters


def refund_url(refund: Refund) -> str:
    return reverse("admin:finance_refund_change", args=[refund.pk])


def shown_state(page, refund: Refund) -> None:
    """The refund page's state field says what the database says."""
    refund.refresh_from_db()
    expect(page.locator(".field-state .readonly")).to_have_text(refund.get_state_display())


def test_a_finance_officers_day_approvals_a_second_approver_a_retry_and_the_export(
    log_in, live_server, browser_problems, screenshots, sandbox, gateway
):
    shots = screenshots / "finance"
    shots.mkdir(exist_ok=True)
    officer = factories.StaffFactory(role="finance", full_name="Wang Fang")
    colleague = factories.StaffFactory(role="finance", full_name="Li Na")
    agent = factories.StaffFactory(role="agent")
    threshold = RefundSettings.current().second_approval_above
    small = queued_refund(gateway, Decimal("499.00"), agent)
    large = queued_refund(gateway, threshold + Decimal("500.00"), agent)
    failing = queued_refund(gateway, Decimal("300.00"), agent)
    assert (small.approvals_required, large.approvals_required, failing.approvals_required) == (1, 2, 1)
    executed_before = sandbox.refunds_executed()

    # The queue, narrowed to what waits for approval, with its totals.
    desk = log_in(officer, QUEUE)
    desk.locator("#changelist-filter").get_by_role("link", name="Pending approval").click()
    expect(desk).to_have_url(f"{live_server.url}{QUEUE}?state__exact=pending_approval")
    waiting = small.amount + large.amount + failing.amount
    expect(desk.locator("#refund-totals")).to_contain_text(f"3 refunds, {waiting:.2f} in all")
    expect(desk.locator("#result_list tbody tr")).to_have_count(3)
    expect(desk.locator("#result_list tbody tr").filter(has_text=f"{large.amount:.2f}")).to_contain_text("0/2")
    desk.screenshot(path=shots / "01-queue-pending.png", full_page=True)

    # (a) A refund under the threshold: one approval, and the worker pays it through the gateway.
    open_refund(desk, small)
    expect(desk.locator("#refund-decisions")).to_contain_text("0 of 1 approvals")
    desk.get_by_label("Note or reason (required to hold, reject or resolve)").fill("Goodwill agreed with the shop.")
    desk.get_by_role("button", name="Approve").click()
    expect(desk.get_by_text(f"Refund {small.pk} is now: Approved.")).to_be_visible()
    shown_state(desk, small)
    assert small.state == Refund.State.SUCCEEDED and small.gateway_reference and small.paid_at
    assert list(small.approvals.values_list("approver", flat=True)) == [officer.pk]
    expect(desk.locator("#refund-decisions")).to_have_count(0)  # nothing left to decide
    expect(desk.get_by_text("Goodwill agreed with the shop.")).to_be_visible()  # the audit trail
    desk.screenshot(path=shots / "02-approved-and-paid.png", full_page=True)

    # (b) Above the threshold: the first approval leaves it waiting, a second one by the same
    # person is refused, a different finance user's approval releases it.
    desk.goto(refund_url(large))
    desk.get_by_role("button", name="Approve").click()
    expect(desk.get_by_text(f"Refund {large.pk} is now: Pending approval.")).to_be_visible()
    expect(desk.locator("#refund-decisions")).to_contain_text("1 of 2 approvals")
    desk.get_by_role("button", name="Approve").click()
    expect(
        desk.get_by_text("You have approved this refund already; a second, different approver is needed.")
    ).to_be_visible()
    shown_state(desk, large)
    assert large.state == Refund.State.PENDING_APPROVAL and large.approvals.count() == 1
    desk.screenshot(path=shots / "03-second-approver-needed.png", full_page=True)

    second = log_in(colleague, refund_url(large))
    expect(second.locator("#refund-decisions")).to_contain_text("1 of 2 approvals")
    second.get_by_role("button", name="Approve").click()
    expect(second.get_by_text(f"Refund {large.pk} is now: Approved.")).to_be_visible()
    shown_state(second, large)
    assert large.state == Refund.State.SUCCEEDED
    assert set(large.approvals.values_list("approver", flat=True)) == {officer.pk, colleague.pk}
    approvals = second.locator(".inline-group").filter(has_text="Refund approvals")
    expect(approvals).to_contain_text(str(officer))
    expect(approvals).to_contain_text(str(colleague))
    second.screenshot(path=shots / "04-released-by-the-second-approver.png", full_page=True)

    # (c) The gateway turns the next refund call down (503): the refund fails, waits in the queue
    # as failed, and a retry pays it with the same idempotency key.
    sandbox.faults(fail_next=1)
    desk.goto(refund_url(failing))
    desk.get_by_role("button", name="Approve").click()
    expect(desk.get_by_text(f"Refund {failing.pk} is now: Approved.")).to_be_visible()
    shown_state(desk, failing)
    assert failing.state == Refund.State.FAILED and failing.attempts == 1 and "503" in failing.last_error
    expect(desk.locator(".field-last_error .readonly")).to_contain_text("503")
    desk.goto(QUEUE)
    desk.locator("#changelist-filter").get_by_role("link", name="Failed").click()
    expect(desk.locator("#result_list tbody tr")).to_have_count(1)
    expect(desk.locator("#refund-totals")).to_contain_text(f"1 refund, {failing.amount:.2f} in all")
    desk.screenshot(path=shots / "05-queue-failed.png", full_page=True)
    open_refund(desk, failing)
    expect(desk.get_by_role("button", name="Resolved by hand")).to_be_visible()
    desk.get_by_label("Note or reason (required to hold, reject or resolve)").fill("Gateway back up.")
    desk.get_by_role("button", name="Retry the payment").click()
    expect(desk.get_by_text(f"Refund {failing.pk} is now: Approved.")).to_be_visible()
    shown_state(desk, failing)
    assert failing.state == Refund.State.SUCCEEDED and failing.attempts == 2 and failing.last_error == ""
    actions = list(failing.events.values_list("action", flat=True))
    assert actions == ["requested", "approved", "processing", "failed", "retried", "processing", "paid"]
    desk.screenshot(path=shots / "06-retried-and-paid.png", full_page=True)
    # Three refunds, each paid once at the gateway (the 503 executed nothing).
    assert sandbox.refunds_executed() == executed_before + 3

    # (d) The day's reconciliation: the gateway agrees, and the export lists exactly what was paid.
    desk.goto(QUEUE)
    desk.get_by_role("link", name="Reconciliation").click()
    today = timezone.localdate()
    desk.get_by_label("Day").fill(today.isoformat())
    desk.get_by_role("button", name="Show").click()
    expect(desk).to_have_url(f"{live_server.url}{reverse('admin:finance_refund_reconciliation')}?day={today}")
    expect(desk.get_by_text("Our records and the gateway's agree.")).to_be_visible()
    desk.screenshot(path=shots / "07-reconciliation.png", full_page=True)
    with desk.expect_download() as download_info:
        desk.get_by_role("link", name="Download the day's export (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == f"refunds-{today.isoformat()}.csv"
    with open(download.path(), encoding="utf-8-sig", newline="") as export:
        header, *rows = list(csv.reader(export))
    assert header[:9] == ["refund", "paid_at", "order", "case", "source", "destination", "amount", "currency", "state"]
    paid = Refund.objects.filter(state=Refund.State.SUCCEEDED).order_by("paid_at", "pk")
    assert (
        [row[0] for row in rows]
        == [str(refund.pk) for refund in paid]
        == [
            str(small.pk),
            str(large.pk),
            str(failing.pk),
        ]
    )
    for row, refund in zip(rows, paid, strict=True):
        assert row[1] == timezone.localtime(refund.paid_at).isoformat(timespec="seconds")
        assert row[2:] == [
            refund.order.number,
            "",
            refund.source,
            refund.destination,
            f"{refund.amount:.2f}",
            refund.order.currency,
            refund.state,
            refund.gateway_reference,
            refund.idempotency_key,
        ]
    assert sum(Decimal(row[6]) for row in rows) == small.amount + large.amount + failing.amount
    assert browser_problems == []
