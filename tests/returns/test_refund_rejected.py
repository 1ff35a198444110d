"""A refund that finance rejects (R-FIN-3) does not leave its case waiting for ever: the case goes back
to an agent, who queues a corrected refund or closes the case without one."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from aftersales.cases.models import CaseEvent
from aftersales.common.errors import InvalidTransition, NotAllowed, ValidationFailed
from aftersales.finance.models import Refund
from aftersales.finance.services import approve_refund, mark_refund_paid, reject_refund
from returns import services
from tests import factories
from tests.finance.test_refunds import recent_order
from tests.returns.test_actions_api import act
from tests.returns.test_dashboard import change_url, message_texts, post_step
from tests.returns.test_exchange_reissue import phone_order, received, variant
from tests.returns.test_submit import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(db):
    return factories.StaffFactory(role="finance")


def refused_return(customer, agent, finance):
    order = recent_order(customer, price=Decimal("500.00"))
    case = received(submit(order), agent)
    case = services.inspect(case=case, actor=agent, passed=True, notes="", deductions=Decimal("0.00"))
    assert case.status == "refund_pending"
    reject_refund(refund=Refund.objects.get(case=case), actor=finance, reason="Serial number does not match")
    case.refresh_from_db()
    return case


def test_R_FIN_3_a_rejected_refund_sends_the_case_back_to_an_agent(customer, agent, finance):
    case = refused_return(customer, agent, finance)
    assert case.status == "refund_refused" and case.closed_at is None
    internal = case.events.get(type=CaseEvent.Type.NOTE)
    assert "Serial number does not match" in internal.note and internal.public is False
    # The customer is told the shop will come back to them, never finance's internal reason.
    public_notes = " ".join(e.note for e in case.events.filter(public=True))
    assert "Serial number" not in public_notes and "another look" in public_notes


def test_the_agent_queues_a_corrected_refund_which_completes_the_case_when_paid(customer, agent, finance):
    case = refused_return(customer, agent, finance)
    with pytest.raises(ValidationFailed) as too_much:
        services.requeue_refund(case=case, actor=agent, amount=Decimal("500.01"))
    assert "amount" in too_much.value.fields
    case = services.requeue_refund(case=case, actor=agent, amount=Decimal("450.00"), note="Less the missing charger.")
    assert case.status == "refund_pending"
    refunds = list(Refund.objects.filter(case=case).order_by("pk"))
    assert [(r.state, r.amount) for r in refunds] == [
        ("rejected", Decimal("500.00")),
        ("pending_approval", Decimal("450.00")),
    ]
    assert refunds[1].idempotency_key == f"{case.number}:refund:2"
    approve_refund(refund=refunds[1], actor=finance)
    mark_refund_paid(refund=refunds[1], gateway_reference="GW-1")
    case.refresh_from_db()
    assert case.status == "completed"


def test_paying_nothing_sends_a_returns_goods_back(customer, agent, finance):
    case = refused_return(customer, agent, finance)
    with pytest.raises(InvalidTransition):  # the shop may not keep the goods and the money
        services.close_without_refund(case=case, actor=agent, reason_text="Different unit.")
    case = services.send_back(case=case, actor=agent, carrier="SF", tracking_number="SF1")
    assert case.status == "sent_back" and case.closed_at is not None
    assert services.refund_due(case.return_request) == Decimal("0.00")
    assert Refund.objects.filter(case=case).exclude(state="rejected").count() == 0


def test_a_refund_only_request_closes_without_a_refund_telling_the_customer_why(customer, agent, finance):
    order = factories.order_with_lines(customer=customer, signed_for_at=None, left_warehouse_at=None)
    case = services.approve(case=submit(order, kind="refund_only", reason="not_received", condition={}), actor=agent)
    reject_refund(refund=Refund.objects.get(case=case), actor=finance, reason="The parcel was delivered")
    case.refresh_from_db()
    assert case.status == "refund_refused"
    with pytest.raises(ValidationFailed):
        services.close_without_refund(case=case, actor=agent, reason_text="  ")
    case = services.close_without_refund(case=case, actor=agent, reason_text="The courier confirms delivery.")
    assert case.status == "rejected" and case.closed_at is not None
    assert case.events.filter(public=True, note="The courier confirms delivery.").exists()


def test_only_staff_take_these_steps_and_only_after_a_rejection(customer, agent, finance):
    order = recent_order(customer, price=Decimal("500.00"))
    case = received(submit(order), agent)
    case = services.inspect(case=case, actor=agent, passed=True, notes="", deductions=Decimal("0.00"))
    with pytest.raises(InvalidTransition):  # the first refund is still with finance
        services.requeue_refund(case=case, actor=agent, amount=Decimal("1.00"))
    reject_refund(refund=Refund.objects.get(case=case), actor=finance, reason="Check")
    case.refresh_from_db()
    with pytest.raises(NotAllowed):
        services.requeue_refund(case=case, actor=customer, amount=Decimal("500.00"))
    with pytest.raises(NotAllowed):
        services.send_back(case=case, actor=customer, carrier="SF", tracking_number="1")


def test_a_rejected_exchange_difference_refund_is_noted_and_the_exchange_goes_on(customer, agent, finance):
    order = phone_order(customer)
    case = submit(order, kind="exchange", exchange_product=variant(Decimal("1799.00")))
    case = services.inspect(case=received(case, agent), actor=agent, passed=True, notes="OK")
    refund = Refund.objects.get(case=case)
    assert refund.source == "exchange_difference"
    reject_refund(refund=refund, actor=finance, reason="Price was an error")
    case.refresh_from_db()
    assert case.status == "inspection_passed"
    assert case.events.filter(type=CaseEvent.Type.NOTE, public=False, note__contains="Price was an error").exists()
    assert services.ship_replacement(case=case, actor=agent, carrier="JD", tracking_number="JD9").status == (
        "replacement_shipped"
    )


def test_the_dashboard_offers_the_steps_and_refuses_bad_amounts(client, customer, agent, finance):
    case = refused_return(customer, agent, finance)
    client.force_login(agent)
    page = client.get(change_url(case)).text
    assert 'id="return-requeue-refund"' in page and 'id="return-send_back"' in page
    assert 'id="return-close-without-refund"' not in page
    response = post_step(client, case, "requeue_refund", {"amount": "abc"})
    assert [level for level, _text in message_texts(response)] == ["error"]
    post_step(client, case, "requeue_refund", {"amount": "480.00"})
    case.refresh_from_db()
    assert case.status == "refund_pending"
    assert Refund.objects.get(case=case, state="pending_approval").amount == Decimal("480.00")


def test_the_api_takes_the_steps_with_field_errors(customer, agent, finance):
    api = APIClient()
    api.force_authenticate(agent)
    case = refused_return(customer, agent, finance)
    assert "amount" in act(api, case.number, "requeue-refund", {"amount": "0"}).json()["fields"]
    assert act(api, case.number, "close-without-refund", {"reason": "x"}).status_code == 409
    api.force_authenticate(customer)
    assert act(api, case.number, "requeue-refund", {"amount": "1.00"}).status_code == 403
    api.force_authenticate(agent)
    requeued = act(api, case.number, "requeue-refund", {"amount": "500.00"})
    assert requeued.status_code == 200 and requeued.json()["status"] == "refund_pending"
