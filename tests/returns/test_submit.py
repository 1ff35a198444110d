"""returns.services: submitting a request and every step after it, by rule id (DOMAIN §2)."""

import io
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from aftersales.cases.deadlines import sweep_due_deadlines
from aftersales.cases.models import CaseEvent, Notification
from aftersales.common.errors import InvalidTransition, NotAllowed, PolicyRefused, ValidationFailed
from aftersales.finance.models import Refund
from aftersales.finance.services import approve_refund, mark_refund_paid
from aftersales.orders.models import Product
from returns import selectors, services
from returns.models import ReturnRequest
from tests import factories

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
RESALEABLE = {"accessories_complete": True, "water_exposure": False}


def photo(name="damage.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def signed(days_ago: int) -> datetime:
    return timezone.now() - timedelta(days=days_ago)


def submit(order, *, quantity=1, line=None, kind="return", reason="no_reason", condition=RESALEABLE, **kwargs):
    line = line or order.lines.order_by("line_no").first()
    return services.submit_request(
        customer=order.customer,
        order=order,
        kind=kind,
        reason=reason,
        lines=kwargs.pop("lines", [{"line": line, "quantity": quantity}]),
        condition=condition,
        description=kwargs.pop("description", "Changed my mind"),
        **kwargs,
    )


# --- R-RET-1 -------------------------------------------------------------------------------------


def test_R_RET_1_no_reason_return_is_accepted_on_day_7(customer):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(7))
    case = submit(order)
    request = ReturnRequest.objects.get(case=case)
    assert case.status == "submitted" and case.kind == "return" and case.order == order
    assert request.refund_estimate == Decimal("1999.00")  # over the auto-approve limit: queued
    assert request.return_shipping_paid_by == "shop"  # first-time buyer (R-RET-12)
    assert list(request.lines.values_list("order_line_id", "quantity")) == [(order.lines.get().pk, 1)]
    opened = case.events.get(type="opened")
    assert opened.actor == customer and opened.note == "Changed my mind"


def test_R_RET_1_no_reason_return_is_refused_on_day_8(customer):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(8))
    with pytest.raises(PolicyRefused) as refused:
        submit(order)
    assert refused.value.rule == "R-RET-1"
    assert not ReturnRequest.objects.exists()


def test_only_the_orders_customer_may_submit(customer, other_customer):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
    with pytest.raises(NotAllowed):
        services.submit_request(
            customer=other_customer,
            order=order,
            kind="return",
            reason="no_reason",
            lines=[{"line": order.lines.get(), "quantity": 1}],
            condition=RESALEABLE,
            description="",
        )


# --- R-RET-6 -------------------------------------------------------------------------------------


def test_R_RET_6_a_switched_on_phone_is_not_no_reason_returnable(customer):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
    Product.objects.filter(order_lines__order=order).update(is_electronics=True)
    declared = {**RESALEABLE, "package_opened": False, "powered_on": True, "activated": False, "card_inserted": False}
    with pytest.raises(PolicyRefused) as refused:
        submit(order, condition=declared)
    assert refused.value.rule == "R-RET-6"
    assert submit(order, condition={**declared, "powered_on": False}).status == "submitted"


def test_R_RET_6_does_not_apply_to_a_quality_problem(customer):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
    case = submit(order, reason="quality", condition={"water_exposure": True}, photos=[photo()])
    assert case.status == "submitted"


# --- R-RET-8 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["quality", "transit_damage", "missing_parts", "wrong_item"])
def test_R_RET_8_a_request_that_needs_photos_is_refused_without_them(customer, reason):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
    with pytest.raises(PolicyRefused) as refused:
        submit(order, reason=reason)
    assert refused.value.rule == "R-RET-8"


def test_R_RET_8_photos_are_stored_on_the_case_and_staff_review_it(customer):
    """R-RET-15 too: under the limit, but photos need an agent's eyes, so it is queued."""
    order = factories.order_with_lines(customer=customer, lines=((Decimal("99.00"), 1),), signed_for_at=signed(1))
    case = submit(order, reason="transit_damage", photos=[photo("a.jpg"), photo("b.jpg")])
    assert case.status == "submitted"
    assert sorted(case.attachments.values_list("original_name", flat=True)) == ["a.jpg", "b.jpg"]
    assert ReturnRequest.objects.get(case=case).auto_approved is False


def test_a_bad_photo_is_a_field_error_and_nothing_is_kept(customer):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
    bad = SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")
    with pytest.raises(ValidationFailed) as invalid:
        submit(order, reason="quality", photos=[photo(), bad])
    assert "photos.1" in invalid.value.fields
    assert not ReturnRequest.objects.exists()


# --- R-RET-13 ------------------------------------------------------------------------------------


def test_R_RET_13_quantity_over_what_is_returnable_is_a_field_error(customer):
    order = factories.order_with_lines(customer=customer, lines=((Decimal("100.00"), 2),), signed_for_at=signed(1))
    with pytest.raises(ValidationFailed) as invalid:
        submit(order, quantity=3)
    assert set(invalid.value.fields) == {"lines.0.quantity"}
    with pytest.raises(ValidationFailed) as invalid:
        submit(order, quantity=0)
    assert set(invalid.value.fields) == {"lines.0.quantity"}


def test_R_RET_13_the_same_units_cannot_be_requested_twice(customer):
    order = factories.order_with_lines(customer=customer, lines=((Decimal("100.00"), 3),), signed_for_at=signed(1))
    first = submit(order, quantity=2)
    with pytest.raises(ValidationFailed):
        submit(order, quantity=2, reason="not_as_described")  # only one unit left
    second = submit(order, quantity=1, reason="not_as_described")
    with pytest.raises(PolicyRefused) as refused:
        submit(order, quantity=1, reason="wrong_item")
    assert refused.value.rule == "R-RET-13"
    estimates = [ReturnRequest.objects.get(case=c).refund_estimate for c in (first, second)]
    assert sum(estimates) == order.paid_total  # the parts add up to what was paid


def test_R_RET_13_one_open_request_per_line_and_reason(customer, agent):
    """A second request with the same reason for the same line waits until the first one closes;
    another reason may be asked meanwhile for the units left."""
    order = factories.order_with_lines(customer=customer, lines=((Decimal("600.00"), 3),), signed_for_at=signed(1))
    first = submit(order, quantity=1)
    with pytest.raises(PolicyRefused) as refused:
        submit(order, quantity=1)
    assert refused.value.rule == "R-RET-13"
    line = order.lines.get()
    [(_line, verdict)] = selectors.order_verdicts(order)
    assert verdict.refusal("return", "no_reason").rule == "R-RET-13"
    assert verdict.option("return", "not_as_described") is not None and verdict.returnable_quantity == 2
    submit(order, quantity=1, reason="not_as_described")
    services.reject(case=first, actor=agent, reason_text="Please keep it.")
    again = submit(order, line=line, quantity=1)
    assert again.status in ("submitted", "awaiting_parcel")


def test_R_RET_13_partial_refunds_add_up_exactly_to_the_line(customer):
    order = factories.order_with_lines(customer=customer, lines=((Decimal("33.33"), 3),), signed_for_at=signed(1))
    line = order.lines.get()
    line.discount, line.paid_amount = Decimal("0.01"), Decimal("99.98")
    line.save()
    order.discount_total, order.paid_total = Decimal("0.01"), Decimal("99.98")
    order.save()
    cases = [
        submit(order, quantity=1, reason="no_reason"),
        submit(order, quantity=1, reason="not_as_described"),
        submit(order, quantity=1, reason="wrong_item", photos=[photo()]),
    ]
    assert sum(ReturnRequest.objects.get(case=c).refund_estimate for c in cases) == Decimal("99.98")


def test_R_RET_13_refunds_on_an_order_never_exceed_what_it_paid(customer):
    """An order-level discount not apportioned to the lines: the second request is capped at what
    the order still has to refund."""
    order = factories.order_with_lines(
        customer=customer, lines=((Decimal("600.00"), 1), (Decimal("600.00"), 1)), signed_for_at=signed(1)
    )
    order.discount_total, order.paid_total = Decimal("200.00"), Decimal("1000.00")
    order.save()
    first, second = order.lines.order_by("line_no")
    estimates = [ReturnRequest.objects.get(case=submit(order, line=line)).refund_estimate for line in (first, second)]
    assert estimates == [Decimal("600.00"), Decimal("400.00")]


def test_R_RET_13_a_missing_gift_is_deducted_and_a_returned_gift_is_not(customer):
    order = factories.order_with_lines(customer=customer, lines=((Decimal("1999.00"), 1),), signed_for_at=signed(1))
    main = order.lines.get()
    gift = factories.add_gift(order, main=main, line_no=2, value=Decimal("149.00"))
    without_gift = submit(order, line=main)
    assert ReturnRequest.objects.get(case=without_gift).refund_estimate == Decimal("1850.00")
    services.cancel(case=without_gift, customer=customer)

    with_gift = submit(order, lines=[{"line": main, "quantity": 1}, {"line": gift, "quantity": 1}])
    assert ReturnRequest.objects.get(case=with_gift).refund_estimate == Decimal("1999.00")


def test_R_RET_13_a_gift_alone_is_refused(customer):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
    gift = factories.add_gift(order, main=order.lines.get(), line_no=2)
    with pytest.raises(PolicyRefused) as refused:
        submit(order, line=gift)
    assert refused.value.rule == "R-RET-13"


def test_a_line_of_another_order_or_listed_twice_is_a_field_error(customer):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
    other = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
    with pytest.raises(ValidationFailed) as invalid:
        submit(order, line=other.lines.get())
    assert set(invalid.value.fields) == {"lines.0.line_id"}
    line = order.lines.get()
    with pytest.raises(ValidationFailed) as invalid:
        submit(order, lines=[{"line": line, "quantity": 1}, {"line": line, "quantity": 1}])
    assert set(invalid.value.fields) == {"lines.1.line_id"}
    with pytest.raises(ValidationFailed) as invalid:
        submit(order, lines=[])
    assert "lines" in invalid.value.fields


# --- R-RET-5 -------------------------------------------------------------------------------------


def test_R_RET_5_an_exchange_names_its_replacement_and_has_no_refund(customer):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(10))
    with pytest.raises(ValidationFailed) as invalid:
        submit(order, kind="exchange")
    assert set(invalid.value.fields) == {"exchange_sku"}
    replacement = order.lines.get().product  # the same product: nothing to pay either way
    case = submit(order, kind="exchange", exchange_product=replacement)
    request = ReturnRequest.objects.get(case=case)
    assert request.exchange_product == replacement and request.refund_estimate == Decimal("0.00")
    assert case.status == "awaiting_parcel" and request.auto_approved  # nothing to pay out (R-RET-15)


# --- R-RET-15 ------------------------------------------------------------------------------------


def test_R_RET_15_a_request_under_the_limit_is_approved_automatically(customer):
    order = factories.order_with_lines(customer=customer, lines=((Decimal("299.00"), 1),), signed_for_at=signed(1))
    case = submit(order)
    request = ReturnRequest.objects.get(case=case)
    assert case.status == "awaiting_parcel" and request.auto_approved
    approval = case.events.get(type="transition")
    assert approval.actor is None and approval.note.startswith("Approved automatically.")
    assert case.deadline_action == "remind_unshipped" and case.deadline_at is not None


def test_R_RET_15_a_request_over_the_limit_waits_for_an_agent(customer):
    order = factories.order_with_lines(customer=customer, lines=((Decimal("500.01"), 1),), signed_for_at=signed(1))
    case = submit(order)
    assert case.status == "submitted" and not ReturnRequest.objects.get(case=case).auto_approved
    assert case.deadline_at is None


def test_R_RET_14_a_reissue_is_never_approved_automatically(customer):
    order = factories.order_with_lines(customer=customer, signed_for_at=None)
    case = submit(order, kind="reissue", reason="not_received", condition={})
    assert case.status == "submitted"


# --- R-RET-9 / R-RET-10 / R-RET-11 ---------------------------------------------------------------


def test_R_RET_10_approval_sets_the_ship_deadline_at_the_end_of_local_day_7(customer, agent):
    with time_machine.travel(datetime(2026, 3, 2, 23, 30, tzinfo=SH), tick=False):
        order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
        case = services.approve(case=submit(order), actor=agent)
    ship_by = datetime(2026, 3, 9, 23, 59, 59, 999999, tzinfo=SH)
    assert case.status == "awaiting_parcel" and ReturnRequest.objects.get(case=case).ship_by == ship_by
    # A reminder a day before, then the expiry itself.
    assert case.deadline_at == ship_by - timedelta(days=1) and case.deadline_action == "remind_unshipped"
    assert sweep_due_deadlines(now=case.deadline_at + timedelta(microseconds=1)) == 1
    case.refresh_from_db()
    assert case.status == "awaiting_parcel"
    assert (case.deadline_at, case.deadline_action) == (ship_by, "expire_unshipped")
    reminder = Notification.objects.filter(user=customer, case=case, title__startswith="Reminder").get()
    assert "2026-03-09 23:59" in reminder.body
    assert sweep_due_deadlines(now=ship_by + timedelta(microseconds=1)) == 1
    case.refresh_from_db()
    assert case.status == "expired"


def test_R_RET_10_no_reminder_once_the_parcel_shipped(customer, agent):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
    case = services.approve(case=submit(order), actor=agent)
    case = services.enter_tracking(case=case, customer=customer, carrier="SF", tracking_number="SF9")
    assert case.deadline_at is None
    assert sweep_due_deadlines(now=timezone.now() + timedelta(days=30)) == 0
    assert not Notification.objects.filter(user=customer, title__startswith="Reminder").exists()


def test_R_RET_10_inspection_deadline_counts_business_days_over_the_spring_festival(customer, agent):
    """Received Fri 13 Feb 2026: Sat 14 Feb is a make-up working day (1), 15–23 Feb is the Spring
    Festival, then Tue 24 … Fri 27 Feb (2–5): inspect by the end of Fri 27 Feb."""
    with time_machine.travel(datetime(2026, 2, 10, 10, 0, tzinfo=SH), tick=False):
        order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
        case = services.approve(case=submit(order), actor=agent)
    with time_machine.travel(datetime(2026, 2, 13, 16, 0, tzinfo=SH), tick=False):
        case = services.receive(case=case, actor=agent)
    assert case.status == "received" and case.deadline_action == "inspection_overdue"
    assert case.deadline_at == datetime(2026, 2, 27, 23, 59, 59, 999999, tzinfo=SH)
    assert ReturnRequest.objects.get(case=case).received_at == datetime(2026, 2, 13, 16, 0, tzinfo=SH)


def test_R_RET_10_an_overdue_inspection_is_flagged_and_escalated_to_supervisors(customer, agent, supervisor):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
    case = services.receive(case=services.approve(case=submit(order), actor=agent), actor=agent)
    assert sweep_due_deadlines(now=case.deadline_at + timedelta(seconds=1)) == 1
    case.refresh_from_db()
    assert case.status == "received" and case.deadline_at is None
    flag = case.events.get(type=CaseEvent.Type.DEADLINE)
    assert not flag.public and "overdue" in flag.note
    assert Notification.objects.filter(user=supervisor, case=case).exists()
    assert not Notification.objects.filter(user=agent, case=case).exists()


def test_R_RET_9_tracking_is_entered_only_while_awaiting_the_parcel_and_stops_the_expiry(customer, agent):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
    case = submit(order)
    with pytest.raises(InvalidTransition):
        services.enter_tracking(case=case, customer=customer, carrier="SF", tracking_number="SF1")
    case = services.approve(case=case, actor=agent)
    case = services.enter_tracking(case=case, customer=customer, carrier="SF Express", tracking_number="SF123")
    request = ReturnRequest.objects.get(case=case)
    assert (request.carrier, request.tracking_number) == ("SF Express", "SF123") and request.shipped_at
    assert case.deadline_at is None and case.status == "awaiting_parcel"
    assert case.events.filter(type="note", public=True, note__contains="SF123").exists()
    with pytest.raises(ValidationFailed):
        services.enter_tracking(case=case, customer=customer, carrier="", tracking_number="SF123")


def test_R_RET_9_cancel_until_received_then_not(customer, agent):
    order = factories.order_with_lines(customer=customer, lines=((Decimal("900.00"), 2),), signed_for_at=signed(1))
    first = services.approve(case=submit(order, quantity=1), actor=agent)
    assert services.cancel(case=first, customer=customer).status == "cancelled"
    assert selectors.requested_quantities(order) == {}  # the units are free again
    second = services.receive(case=services.approve(case=submit(order), actor=agent), actor=agent)
    with pytest.raises(InvalidTransition):
        services.cancel(case=second, customer=customer)
    with pytest.raises(NotAllowed):
        services.approve(case=submit(order, reason="not_as_described"), actor=customer)


def test_R_RET_9_reject_needs_a_reason_the_customer_sees(customer, agent):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
    case = submit(order)
    with pytest.raises(ValidationFailed) as invalid:
        services.reject(case=case, actor=agent, reason_text="  ")
    assert set(invalid.value.fields) == {"reason"}
    case = services.reject(case=case, actor=agent, reason_text="The seal is broken on your photos.")
    assert case.status == "rejected"
    assert case.events.get(type="transition").note == "The seal is broken on your photos."


def test_R_RET_9_a_passed_inspection_refunds_the_estimate_less_deductions(customer, agent):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
    case = services.receive(case=services.approve(case=submit(order), actor=agent), actor=agent)
    with pytest.raises(ValidationFailed) as invalid:
        services.inspect(case=case, actor=agent, passed=True, notes="", deductions=Decimal("2000.00"))
    assert set(invalid.value.fields) == {"deductions"}
    case = services.inspect(case=case, actor=agent, passed=True, notes="Scratch", deductions=Decimal("50.00"))
    request = ReturnRequest.objects.select_related("case").get(case=case)
    assert case.status == "refund_pending" and case.deadline_at is None
    assert services.refund_due(request) == Decimal("1949.00")
    refund = Refund.objects.get(case=case)
    assert refund.amount == Decimal("1949.00") and refund.source == "return" and refund.requested_by == agent
    assert [e.to_status for e in case.events.filter(type="transition").order_by("at", "id")][-2:] == [
        "inspection_passed",
        "refund_pending",
    ]
    # Finance approves and pays it: the case completes and the customer is asked to rate it (R-FB-1).
    approve_refund(refund=refund, actor=factories.StaffFactory(role="finance"))
    mark_refund_paid(refund=refund)
    mark_refund_paid(refund=refund)  # repeated: nothing more happens
    case.refresh_from_db()
    assert case.status == "completed" and case.closed_at is not None
    assert case.events.filter(to_status="completed").count() == 1
    assert Notification.objects.filter(user=customer, case=case, title__startswith="How did we do").count() == 1


def test_R_RET_9_a_passed_inspection_with_nothing_left_to_refund_completes(customer, agent):
    order = factories.order_with_lines(customer=customer, lines=((Decimal("600.00"), 1),), signed_for_at=signed(1))
    case = services.receive(case=services.approve(case=submit(order), actor=agent), actor=agent)
    case = services.inspect(case=case, actor=agent, passed=True, notes="Heavily used", deductions=Decimal("600.00"))
    assert case.status == "completed" and not Refund.objects.filter(case=case).exists()


def test_R_RET_11_a_failed_inspection_refunds_nothing(customer, agent):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
    case = services.receive(case=services.approve(case=submit(order), actor=agent), actor=agent)
    case = services.inspect(case=case, actor=agent, passed=False, notes="Water damage", deductions=Decimal("0"))
    request = ReturnRequest.objects.select_related("case").get(case=case)
    assert case.status == "inspection_failed" and request.inspection_notes == "Water damage"
    assert services.refund_due(request) == Decimal("0.00") and not Refund.objects.filter(case=case).exists()
    with pytest.raises(NotAllowed):
        services.send_back(case=case, actor=customer, carrier="SF", tracking_number="SF77")
    with pytest.raises(ValidationFailed) as invalid:
        services.send_back(case=case, actor=agent, carrier="SF", tracking_number="")
    assert set(invalid.value.fields) == {"tracking_number"}
    case = services.send_back(case=case, actor=agent, carrier="SF", tracking_number="SF77")
    request.refresh_from_db()
    assert case.status == "sent_back" and case.closed_at is not None
    assert (request.outbound_carrier, request.outbound_tracking_number) == ("SF", "SF77")
    assert Notification.objects.filter(user=customer, case=case, body__contains="SF77").exists()
    assert selectors.requested_quantities(order) == {}  # the units are the customer's again


@pytest.mark.django_db(transaction=True)
def test_R_RET_13_two_simultaneous_requests_for_the_last_unit_one_wins():
    """The order row is locked before the requested units are counted, so the second submission
    sees the first one's units and is refused instead of over-returning."""
    from aftersales.orders.models import Order
    from tests.cases.test_concurrency import run_together

    for _ in range(5):
        order = factories.order_with_lines(signed_for_at=signed(1))

        def racer(order_id=order.pk):
            def prepare():
                fresh = Order.objects.select_related("customer").get(pk=order_id)
                return fresh, fresh.lines.get()

            return prepare, lambda state: submit(state[0], line=state[1])

        results = run_together(racer(), racer())
        winners = [r for r in results if not isinstance(r, Exception)]
        losers = [r for r in results if isinstance(r, Exception)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert isinstance(losers[0], PolicyRefused) and losers[0].rule == "R-RET-13", repr(losers[0])
        assert selectors.requested_quantities(order) == {order.lines.get().pk: 1}


def test_R_RET_9_the_customer_hears_of_each_step_once(customer, agent):
    """One notification per step that concerns the customer; a passed inspection and the refund it
    queues arrive as one message."""
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(1))
    case = services.approve(case=submit(order), actor=agent)
    case = services.enter_tracking(case=case, customer=customer, carrier="SF", tracking_number="SF5")
    case = services.receive(case=case, actor=agent)
    services.inspect(case=case, actor=agent, passed=True, notes="Like new")
    titles = list(Notification.objects.filter(user=customer, case=case).order_by("id").values_list("title", "body"))
    assert [t for t, _b in titles] == [
        f"Case {case.number}: Approved: awaiting your parcel",
        f"Case {case.number}: Parcel received",
        f"Case {case.number}: Refund pending: finance is paying your refund",
    ]
    assert "Like new" in titles[-1][1] and "1999.00" in titles[-1][1]
