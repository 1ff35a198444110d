"""The refund queue's decisions (R-FIN-1 … R-FIN-3): approvals by the right people, a second approver
above the threshold, holds, rejections, retries and manual resolution, each with its audit event."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from aftersales.common.errors import InvalidTransition, NotAllowed, PolicyRefused, ValidationFailed
from aftersales.finance import services as finance
from aftersales.finance.models import Refund, RefundSettings
from returns import services as returns
from tests import factories
from tests.returns.test_submit import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_finance(db):
    return factories.StaffFactory(role="finance")


def order_paid(amount="3000.00", customer=None):
    return factories.order_with_lines(
        customer=customer, lines=((Decimal(amount), 1),), signed_for_at=timezone.now() - timedelta(days=1)
    )


def refund(amount="100.00", *, order=None, key="k1", **kwargs):
    order = order or order_paid()
    return finance.request_refund(
        order=order, source=Refund.Source.GOODWILL, amount=Decimal(amount), idempotency_key=key, **kwargs
    )


def actions(refund_row) -> list[str]:
    return list(refund_row.events.values_list("action", flat=True))


def test_R_FIN_3_one_approval_under_the_threshold(finance_staff):
    row = refund("1999.00")
    assert (row.state, row.approvals_required) == ("pending_approval", 1)
    row = finance.approve_refund(refund=row, actor=finance_staff, note="OK")
    assert row.state == "approved" and row.approvals.get().approver == finance_staff
    assert actions(row) == ["requested", "approved"]


def test_R_FIN_3_above_the_threshold_two_different_approvers(finance_staff, second_finance):
    row = refund("2000.01")
    assert row.approvals_required == 2
    row = finance.approve_refund(refund=row, actor=finance_staff)
    assert row.state == "pending_approval"
    with pytest.raises(PolicyRefused) as refused:
        finance.approve_refund(refund=row, actor=finance_staff)  # the same person twice
    assert refused.value.rule == "R-FIN-3"
    row = finance.approve_refund(refund=row, actor=second_finance)
    assert row.state == "approved" and row.approvals.count() == 2
    assert actions(row) == ["requested", "first_approval", "approved"]


def test_R_FIN_3_the_threshold_is_a_setting(finance_staff):
    knobs = RefundSettings.current()
    knobs.second_approval_above = Decimal("50.00")
    knobs.save()
    assert refund("50.01").approvals_required == 2
    assert refund("50.00", key="k2").approvals_required == 1


def test_R_FIN_3_nobody_approves_a_refund_they_requested(finance_staff):
    row = refund(requested_by=finance_staff)
    with pytest.raises(PolicyRefused) as refused:
        finance.approve_refund(refund=row, actor=finance_staff)
    assert refused.value.rule == "R-FIN-3"


def test_R_FIN_3_nobody_approves_the_money_of_a_case_they_decided(customer, agent):
    """The agent who approved the return (and would also hold the finance permission) cannot
    approve its refund; the technician who inspected it neither."""
    from django.contrib.auth.models import Permission

    order = order_paid("1999.00", customer=customer)
    technician = factories.StaffFactory(role="technician")
    case = returns.receive(case=returns.approve(case=submit(order), actor=agent), actor=agent)
    case = returns.inspect(case=case, actor=technician, passed=True, notes="OK")
    row = Refund.objects.get(case=case)
    permission = Permission.objects.get(codename="approve_refund")
    for person in (agent, technician):
        person.user_permissions.add(permission)
        person = type(person).objects.get(pk=person.pk)  # a fresh permission cache
        with pytest.raises(PolicyRefused) as refused:
            finance.approve_refund(refund=row, actor=person)
        assert refused.value.rule == "R-FIN-3"


def test_R_FIN_3_only_finance_decides(agent, customer):
    row = refund()
    for person in (agent, customer, None):
        with pytest.raises(NotAllowed):
            finance.approve_refund(refund=row, actor=person)
        with pytest.raises(NotAllowed):
            finance.reject_refund(refund=row, actor=person, reason="no")


def test_R_FIN_3_internal_destinations_are_approved_at_once_up_to_the_limit():
    order = order_paid()
    small = refund("200.00", order=order, key="b1", destination=Refund.Destination.BALANCE)
    coupon = refund("150.00", order=order, key="c1", destination=Refund.Destination.COUPON)
    large = refund("200.01", order=order, key="b2", destination=Refund.Destination.POINTS)
    card = refund("10.00", order=order, key="o1")
    # Approved at once, and paid at once by the ledger.
    assert (small.state, coupon.state, large.state, card.state) == (
        "succeeded",
        "succeeded",
        "pending_approval",
        "pending_approval",
    )
    assert actions(small) == ["requested", "auto_approved", "paid"]


def test_R_FIN_2_a_bank_transfer_needs_the_account(finance_staff):
    with pytest.raises(ValidationFailed) as invalid:
        refund(destination=Refund.Destination.BANK_TRANSFER, bank_account_name="Li Ming")
    assert "bank_account_number" in invalid.value.fields
    row = refund(
        destination=Refund.Destination.BANK_TRANSFER,
        bank_account_name="李明",
        bank_name="招商银行",
        bank_account_number="6225880137706868",
    )
    assert row.destination == "bank_transfer"
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.filter(pk=row.pk).update(bank_account_number="")


def test_hold_release_and_reject_need_reasons_and_free_the_cap(finance_staff):
    order = order_paid("100.00")
    row = refund("100.00", order=order)
    with pytest.raises(ValidationFailed):
        finance.hold_refund(refund=row, actor=finance_staff, reason=" ")
    row = finance.hold_refund(refund=row, actor=finance_staff, reason="Checking the courier's proof")
    assert row.state == "held" and row.reason == "Checking the courier's proof"
    with pytest.raises(InvalidTransition):
        finance.approve_refund(refund=row, actor=finance_staff)
    row = finance.release_refund(refund=row, actor=finance_staff)
    assert row.state == "pending_approval"
    with pytest.raises(PolicyRefused):
        refund("1.00", order=order, key="k-over")  # the order's cap is taken
    row = finance.reject_refund(refund=row, actor=finance_staff, reason="Duplicate of a store credit")
    assert row.state == "rejected"
    assert refund("100.00", order=order, key="k-again").state == "pending_approval"  # the cap is free
    assert actions(row) == ["requested", "held", "released", "rejected"]


def test_R_FIN_4_paid_only_after_approval_and_only_once(finance_staff):
    row = refund()
    with pytest.raises(InvalidTransition):
        finance.mark_refund_paid(refund=row)
    row = finance.approve_refund(refund=row, actor=finance_staff)
    row = finance.mark_refund_paid(refund=row, gateway_reference="GW-1")
    again = finance.mark_refund_paid(refund=row, gateway_reference="GW-2")
    assert (again.state, again.gateway_reference) == ("succeeded", "GW-1") and again.paid_at is not None
    assert actions(row).count("paid") == 1


def test_R_FIN_4_a_failed_refund_is_retried_or_resolved_by_hand(customer, agent, finance_staff):
    """A failed return refund settled by hand completes its case, like a paid one."""
    order = order_paid("1999.00", customer=customer)
    case = returns.receive(case=returns.approve(case=submit(order), actor=agent), actor=agent)
    case = returns.inspect(case=case, actor=agent, passed=True, notes="OK")
    row = finance.approve_refund(refund=Refund.objects.get(case=case), actor=finance_staff)
    Refund.objects.filter(pk=row.pk).update(state="failed", last_error="card closed")  # as the worker would
    row.refresh_from_db()
    assert finance.retry_refund(refund=row, actor=finance_staff).state == "approved"
    Refund.objects.filter(pk=row.pk).update(state="failed")
    with pytest.raises(ValidationFailed):
        finance.resolve_refund(refund=row, actor=finance_staff, note="")
    row = finance.resolve_refund(refund=row, actor=finance_staff, note="Paid by bank transfer", reference="TX-9")
    assert (row.state, row.gateway_reference) == ("resolved", "TX-9") and row.paid_at is not None
    case.refresh_from_db()
    assert case.status == "completed"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_R_FIN_3_two_approvers_at_once_record_one_approval_each_and_approve_once():
    from aftersales.accounts.models import User
    from tests.cases.test_concurrency import run_together

    for round_ in range(5):
        row = refund("5000.00", order=order_paid("6000.00"), key=f"race-{round_}")
        people = [factories.StaffFactory(role="finance") for _ in range(2)]

        def approver(user_id, refund_id=row.pk):
            return (
                lambda: (User.objects.get(pk=user_id), Refund.objects.get(pk=refund_id)),
                lambda state: finance.approve_refund(refund=state[1], actor=state[0]),
            )

        results = run_together(*(approver(p.pk) for p in people))
        assert not [r for r in results if isinstance(r, Exception)], results
        row.refresh_from_db()
        assert row.state == "approved" and row.approvals.count() == 2
        assert actions(row).count("approved") == 1 and actions(row).count("first_approval") == 1


def test_R_FIN_1_the_customer_sees_the_refunds_state_and_destination_on_the_case(client, customer, agent):
    from django.urls import reverse

    order = order_paid("1999.00", customer=customer)
    case = returns.receive(case=returns.approve(case=submit(order), actor=agent), actor=agent)
    returns.inspect(case=case, actor=agent, passed=True, notes="OK")
    client.force_login(customer)
    page = client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    assert "Refunds" in page and "1999.00" in page
    assert "Original payment method" in page and "Pending approval" in page


def test_R_FIN_2_internal_destinations_are_paid_at_once_by_the_ledger_once(finance_staff):
    from aftersales.finance import ledger

    order = order_paid("5000.00")
    customer = order.customer
    balance = refund("120.00", order=order, key="bal", destination=Refund.Destination.BALANCE)
    coupon = refund("80.00", order=order, key="cpn", destination=Refund.Destination.COUPON)
    points = refund("1.50", order=order, key="pts", destination=Refund.Destination.POINTS)
    assert {r.state for r in (balance, coupon, points)} == {"succeeded"}
    assert ledger.balance_of(customer) == Decimal("120.00") and ledger.points_of(customer) == 150
    [issued] = ledger.coupons_of(customer)
    assert issued.amount == Decimal("80.00") and coupon.gateway_reference == f"coupon:{issued.code}"
    # Above the auto-approval limit: paid when finance approves, and only once.
    large = refund("500.00", order=order, key="bal-2", destination=Refund.Destination.BALANCE)
    assert large.state == "pending_approval" and ledger.balance_of(customer) == Decimal("120.00")
    large = finance.approve_refund(refund=large, actor=finance_staff)
    assert large.state == "succeeded" and ledger.balance_of(customer) == Decimal("620.00")
    finance.mark_refund_paid(refund=large)
    assert ledger.balance_of(customer) == Decimal("620.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_R_RET_13_refunds_racing_past_what_the_order_took_one_is_refused():
    from aftersales.orders.models import Order
    from tests.cases.test_concurrency import run_together

    for round_ in range(5):
        order = order_paid("100.00")

        def asker(n, order_id=order.pk, round_=round_):
            return (
                lambda: Order.objects.get(pk=order_id),
                lambda fresh: finance.request_refund(
                    order=fresh,
                    source=Refund.Source.GOODWILL,
                    amount=Decimal("60.00"),
                    idempotency_key=f"r{round_}-{n}",
                ),
            )

        results = run_together(asker(1), asker(2))
        refused = [r for r in results if isinstance(r, PolicyRefused)]
        assert len(refused) == 1 and refused[0].rule == "R-RET-13", results
        assert Refund.objects.filter(order=order).count() == 1


def test_R_FIN_1_my_account_lists_my_refunds_with_state_and_destination(client, customer, other_customer):
    from django.urls import reverse

    mine = refund("42.00", order=order_paid(customer=customer), key="mine", destination=Refund.Destination.BALANCE)
    refund("77.00", order=order_paid(customer=other_customer), key="theirs")
    client.force_login(customer)
    page = client.get(reverse("portal:account")).content.decode()
    assert "42.00" in page and "Store balance" in page and mine.get_state_display() in page
    assert "77.00" not in page
