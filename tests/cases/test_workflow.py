"""The workflow engine: declared transitions, compare-and-set, who may move a case."""

import pytest

from aftersales.cases import services
from aftersales.cases.models import CaseEvent, CaseKind
from aftersales.common.errors import InvalidTransition, NotAllowed, TransitionConflict
from tests import factories

pytestmark = pytest.mark.django_db


def test_open_case_gets_a_human_number_initial_status_and_an_opening_event(customer):
    first = factories.open_case(customer=customer)
    second = factories.open_case(customer=customer, kind=CaseKind.TICKET)
    assert first.number.startswith("RMA-") and first.number.endswith("-000001")
    assert second.number.startswith("TKT-") and second.number.endswith("-000001")  # a counter per prefix
    assert factories.open_case(customer=customer).number.endswith("-000002")
    assert first.status == "submitted" and second.status == "new"
    assert list(first.events.values_list("type", flat=True)) == [CaseEvent.Type.OPENED]


def test_transition_moves_the_case_records_who_and_notifies_the_customer(
    customer, agent, mailoutbox, django_capture_on_commit_callbacks
):
    case = factories.open_case(customer=customer)
    with django_capture_on_commit_callbacks(execute=True):
        services.transition(case=case, name="approve", actor=agent, note="Ship it back within 7 days.")
    case.refresh_from_db()
    assert case.status == "awaiting_parcel" and case.version == 2
    event = case.events.get(type=CaseEvent.Type.TRANSITION)
    assert (event.actor, event.from_status, event.to_status) == (agent, "submitted", "awaiting_parcel")
    notification = customer.notifications.get()
    assert case.number in notification.title
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [customer.email]


def test_transition_from_a_wrong_status_is_refused(customer, agent):
    case = factories.open_case(customer=customer)
    with pytest.raises(InvalidTransition):
        services.transition(case=case, name="receive", actor=agent)


def test_stale_copy_gets_a_conflict_not_a_second_move(customer, agent):
    case = factories.open_case(customer=customer)
    stale = type(case).objects.get(pk=case.pk)
    services.transition(case=case, name="approve", actor=agent)
    with pytest.raises(TransitionConflict):
        services.transition(case=stale, name="reject", actor=agent)
    assert type(case).objects.get(pk=case.pk).status == "awaiting_parcel"


def test_only_the_cases_customer_may_cancel_and_customers_cannot_approve(customer, other_customer):
    case = factories.open_case(customer=customer)
    with pytest.raises(NotAllowed):
        services.transition(case=case, name="cancel", actor=other_customer)
    with pytest.raises(NotAllowed):
        services.transition(case=case, name="approve", actor=customer)
    services.transition(case=case, name="cancel", actor=customer)
    case.refresh_from_db()
    assert case.status == "cancelled" and case.closed_at is not None


def test_every_case_kind_has_a_registered_workflow_with_reachable_statuses():
    from aftersales.cases import workflow

    assert workflow.registered_kinds() == sorted(CaseKind.values)
    for kind in CaseKind.values:
        flow = workflow.get(kind)
        reached = {flow.initial} | {t.target for t in flow.transitions.values()}
        assert reached == set(flow.statuses), kind
        assert flow.final, kind


def test_a_kinds_own_customer_steps_are_kept_off_the_generic_buttons_and_api(customer, plain_flow, monkeypatch):
    """A customer step whose service does more than move the status is taken on the kind's own form:
    the generic path refuses it (and does not list it), while the kind's service may still take it."""
    from dataclasses import replace

    from aftersales.cases import selectors, workflow

    flow = replace(plain_flow, own_customer_steps=frozenset({"cancel"}))
    monkeypatch.setitem(workflow._registry, CaseKind.TICKET, flow)
    case = factories.open_case(customer=customer, kind=CaseKind.TICKET)
    assert "cancel" not in [t.name for t in selectors.available_transitions(customer, case)]
    with pytest.raises(NotAllowed):
        services.transition(case=case, name="cancel", actor=customer, generic=True)
    assert services.transition(case=case, name="cancel", actor=customer).status == "cancelled"
    with pytest.raises(AssertionError):  # only customer steps can be a kind's own customer steps
        replace(plain_flow, own_customer_steps=frozenset({"accept"}))
