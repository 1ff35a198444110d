"""Exchanges (R-RET-5 price difference, the replacement's shipping), reissues (R-RET-14) and the
appliance inspection report (R-RET-8) through returns.services."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from aftersales.cases.deadlines import sweep_due_deadlines
from aftersales.cases.models import Notification
from aftersales.common.errors import InvalidTransition, NotAllowed, PolicyRefused, ValidationFailed
from aftersales.finance.models import Refund
from returns import services
from returns.models import ReturnRequest
from tests import factories
from tests.returns.test_submit import photo, signed, submit

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def phone_order(customer, *, paid=Decimal("1999.00"), model="P60", days_ago=3):
    order = factories.order_with_lines(customer=customer, lines=((paid, 1),), signed_for_at=signed(days_ago))
    product = order.lines.get().product
    product.model_code = model
    product.save()
    return order


def variant(price, model="P60"):
    return factories.ProductFactory(price=price, model_code=model)


def received(case, agent):
    if case.status == "submitted":
        case = services.approve(case=case, actor=agent)
    return services.receive(case=case, actor=agent)


# --- R-RET-5: the price difference ------------------------------------------------------------------


def test_R_RET_5_a_same_model_three_guarantees_exchange_costs_nothing(customer):
    """Quality exchange for the very same product: free even though its price rose since."""
    order = phone_order(customer)
    product = order.lines.get().product
    product.price = Decimal("2299.00")
    product.save()
    case = submit(order, kind="exchange", reason="quality", exchange_product=product, photos=[photo()])
    request = ReturnRequest.objects.get(case=case)
    assert (request.amount_due, request.refund_estimate) == (Decimal("0.00"), Decimal("0.00"))


def test_R_RET_5_a_dearer_variant_is_paid_before_the_replacement_ships(customer, agent):
    order = phone_order(customer)
    case = submit(order, kind="exchange", exchange_product=variant(Decimal("2299.00")))
    request = ReturnRequest.objects.get(case=case)
    assert request.amount_due == Decimal("300.00") and request.refund_estimate == Decimal("0.00")
    assert case.status == "submitted" and not request.auto_approved  # staff confirm the charge first
    case = services.inspect(case=received(case, agent), actor=agent, passed=True, notes="OK")
    assert case.status == "inspection_passed" and not Refund.objects.filter(case=case).exists()

    with pytest.raises(PolicyRefused) as refused:
        services.ship_replacement(case=case, actor=agent, carrier="SF", tracking_number="SF1")
    assert refused.value.rule == "R-RET-5"
    with pytest.raises(NotAllowed):
        services.record_difference_paid(case=case, actor=customer)
    services.record_difference_paid(case=case, actor=agent, reference="WeChat Pay 4200001")
    services.record_difference_paid(case=case, actor=agent)  # twice: recorded once
    request.refresh_from_db()
    assert request.amount_due_paid_at is not None
    assert case.events.filter(type="note", note__contains="300.00").count() == 1

    case.refresh_from_db()
    case = services.ship_replacement(case=case, actor=agent, carrier="SF", tracking_number="SF1")
    assert case.status == "replacement_shipped" and case.deadline_action == "confirm_receipt"
    with pytest.raises(NotAllowed):
        services.confirm_receipt(case=case, actor=factories.CustomerFactory())
    case = services.confirm_receipt(case=case, actor=customer)
    assert case.status == "completed" and case.closed_at is not None and case.deadline_at is None
    assert Notification.objects.filter(user=customer, case=case, title__startswith="How did we do").exists()


def test_R_RET_5_a_cheaper_variant_refunds_the_difference_after_inspection(customer, agent):
    order = phone_order(customer)
    case = submit(order, kind="exchange", exchange_product=variant(Decimal("1799.00")))
    request = ReturnRequest.objects.get(case=case)
    assert request.refund_estimate == Decimal("200.00") and request.amount_due == Decimal("0.00")
    case = services.inspect(case=received(case, agent), actor=agent, passed=True, notes="OK")
    refund = Refund.objects.get(case=case)
    assert (refund.amount, refund.source) == (Decimal("200.00"), "exchange_difference")
    assert case.status == "inspection_passed"  # the replacement still has to ship
    case = services.ship_replacement(case=case, actor=agent, carrier="JD", tracking_number="JD9")
    assert case.status == "replacement_shipped"


def test_R_RET_5_the_replacement_must_be_a_variant_of_the_same_model(customer):
    order = phone_order(customer)
    for other in (variant(Decimal("1999.00"), model="TV55"), factories.ProductFactory()):
        with pytest.raises(PolicyRefused) as refused:
            submit(order, kind="exchange", exchange_product=other)
        assert refused.value.rule == "R-RET-5" and "exchange_sku" in refused.value.fields


def test_R_RET_5_a_failed_exchange_inspection_sends_the_goods_back(customer, agent):
    order = phone_order(customer)
    case = submit(order, kind="exchange", exchange_product=order.lines.get().product)
    case = services.inspect(case=received(case, agent), actor=agent, passed=False, notes="Dropped in water")
    with pytest.raises(InvalidTransition):
        services.ship_replacement(case=case, actor=agent, carrier="SF", tracking_number="SF1")
    case = services.send_back(case=case, actor=agent, carrier="SF", tracking_number="SF2")
    assert case.status == "sent_back"


def test_a_shipped_replacement_completes_by_itself_after_the_confirmation_days(customer, agent):
    with time_machine.travel(datetime(2026, 4, 1, 10, 0, tzinfo=SH), tick=False):
        order = phone_order(customer)
        case = submit(order, kind="exchange", exchange_product=order.lines.get().product)
        case = services.inspect(case=received(case, agent), actor=agent, passed=True, notes="OK")
        case = services.ship_replacement(case=case, actor=agent, carrier="SF", tracking_number="SF1")
    assert case.deadline_at == datetime(2026, 4, 11, 23, 59, 59, 999999, tzinfo=SH)  # 10 days by default
    assert sweep_due_deadlines(now=case.deadline_at - timedelta(seconds=1)) == 0
    assert sweep_due_deadlines(now=case.deadline_at + timedelta(seconds=1)) == 1
    case.refresh_from_db()
    assert case.status == "completed"
    event = case.events.get(to_status="completed")
    assert event.actor is None and event.data["transition"] == "complete"


# --- R-RET-14: reissue ------------------------------------------------------------------------------


def test_R_RET_14_a_reissue_is_approved_then_the_items_ship_without_a_parcel_back(customer, agent):
    order = factories.order_with_lines(customer=customer, signed_for_at=None)
    case = submit(order, kind="reissue", reason="not_received", condition={})
    case = services.approve(case=case, actor=agent)
    assert case.status == "reissue_approved" and case.deadline_at is None
    with pytest.raises(InvalidTransition):
        services.receive(case=case, actor=agent)  # nothing comes back
    with pytest.raises(InvalidTransition):
        services.enter_tracking(case=case, customer=customer, carrier="SF", tracking_number="SF1")
    case = services.ship_replacement(case=case, actor=agent, carrier="EMS", tracking_number="EMS123")
    request = ReturnRequest.objects.get(case=case)
    assert case.status == "replacement_shipped" and request.outbound_tracking_number == "EMS123"
    assert Notification.objects.filter(user=customer, case=case, body__contains="EMS123").exists()
    assert services.confirm_receipt(case=case, actor=customer).status == "completed"


def test_R_RET_14_a_reissue_can_be_cancelled_until_it_ships(customer, agent):
    order = factories.order_with_lines(customer=customer, signed_for_at=None)
    case = services.approve(case=submit(order, kind="reissue", reason="not_received", condition={}), actor=agent)
    assert services.cancel(case=case, customer=customer).status == "cancelled"


# --- R-RET-8: the appliance's inspection report ---------------------------------------------------------


def appliance_order(customer):
    category = factories.CategoryFactory(name="Appliances", quality_report_required=True)
    order = factories.order_with_lines(customer=customer, lines=((Decimal("3999.00"), 1),), signed_for_at=signed(2))
    product = order.lines.get().product
    product.category = category
    product.save()
    return order


def test_R_RET_8_an_appliance_quality_return_needs_a_valid_inspection_report(customer, agent):
    order = appliance_order(customer)
    with pytest.raises(PolicyRefused) as refused:
        submit(order, reason="quality", photos=[photo()])
    assert refused.value.rule == "R-RET-8" and set(refused.value.fields) == {"report", "report_valid_until"}
    yesterday = timezone.localdate() - timedelta(days=1)
    with pytest.raises(PolicyRefused) as refused:
        submit(order, reason="quality", photos=[photo()], report=photo("report.jpg"), report_valid_until=yesterday)
    assert refused.value.rule == "R-RET-8" and set(refused.value.fields) == {"report_valid_until"}

    valid_until = timezone.localdate() + timedelta(days=3)
    case = submit(order, reason="quality", photos=[photo()], report=photo("report.jpg"), report_valid_until=valid_until)
    request = ReturnRequest.objects.get(case=case)
    assert request.report is not None and request.report.case == case and request.report_valid_until == valid_until
    # R-RET-10: the parcel must ship while the report is valid, even if the usual 7 days run longer.
    case = services.approve(case=case, actor=agent)
    request.refresh_from_db()
    assert timezone.localtime(request.ship_by).date() == valid_until


def test_R_RET_8_other_requests_take_no_report(customer):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed(2))
    with pytest.raises(ValidationFailed) as invalid:
        submit(order, report=photo("report.jpg"), report_valid_until=date.today())
    assert set(invalid.value.fields) == {"report"}
