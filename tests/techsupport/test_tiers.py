"""R-SUP-2: first line accepts and triages, escalates what it cannot solve to technical support with a
reason, and a technician can open a repair or exchange from the ticket, linked on both timelines.
R-SUP-4: public replies versus internal notes."""

import pytest

from aftersales.cases.models import Case, CaseEvent, Notification
from aftersales.common.errors import NotAllowed, PolicyRefused, ValidationFailed
from techsupport.models import Ticket
from techsupport.services import tickets
from tests.warranty.conftest import ALL_DOCUMENTS, tv_order_for

pytestmark = pytest.mark.django_db


def test_r_sup_2_escalation_moves_the_ticket_to_technical_support_with_the_reason(open_ticket, agent, technician, lead):
    case = open_ticket(category="fault")
    tickets.escalate(case=case, actor=agent, reason="Boot loop; needs a recovery image.", assignee=technician)
    ticket = Ticket.objects.select_related("team", "case").get(pk=case.pk)
    assert ticket.team.code == "technical" and ticket.escalated_at is not None
    assert ticket.case.status == "open" and ticket.case.assignee == technician
    internal = CaseEvent.objects.get(case=case, data__escalated_to="technical")
    assert not internal.public and "recovery image" in internal.note
    assert CaseEvent.objects.filter(case=case, data__escalated=True, public=True).exists()  # the customer is told
    assert Notification.objects.filter(user=lead, case=case, title__startswith="Escalated").exists()
    assert Notification.objects.filter(user=technician, case=case, title__startswith="Escalated").exists()

    with pytest.raises(PolicyRefused) as refused:
        tickets.escalate(case=case, actor=agent, reason="again")
    assert refused.value.rule == "R-SUP-2"


def test_r_sup_2_escalation_needs_a_reason_and_staff(open_ticket, agent, customer):
    case = open_ticket()
    with pytest.raises(ValidationFailed) as invalid:
        tickets.escalate(case=case, actor=agent, reason="  ")
    assert "reason" in invalid.value.fields
    with pytest.raises(NotAllowed):
        tickets.escalate(case=case, actor=customer, reason="please")


def test_r_sup_2_technician_opens_a_repair_from_the_ticket(open_ticket, customer, technician, agent):
    order = tv_order_for(customer)
    case = open_ticket(category="fault", order=order)
    line = order.lines.get()
    with pytest.raises(NotAllowed):  # first line does not open repairs
        tickets.open_repair(case=case, actor=agent, line=line, fault="no_power", description="Dead", remedy="repair")
    repair = tickets.open_repair(
        case=case,
        actor=technician,
        line=line,
        fault="no_power",
        description="No power since Monday.",
        remedy="repair",
        documents=ALL_DOCUMENTS,
    )
    assert repair.kind == "warranty" and repair.customer == customer
    assert list(Ticket.objects.get(pk=case.pk).linked_cases.all()) == [repair]
    assert CaseEvent.objects.filter(case=case, data__linked_case=repair.number, public=True).exists()
    assert CaseEvent.objects.filter(case=repair, data__linked_case=case.number, public=True).exists()


def test_r_sup_2_a_repair_only_for_the_customers_own_items(open_ticket, other_customer, technician):
    case = open_ticket(category="fault")
    foreign = tv_order_for(other_customer).lines.get()
    with pytest.raises(ValidationFailed):
        tickets.open_repair(
            case=case, actor=technician, line=foreign, fault="no_power", description="x", remedy="repair"
        )
    assert not Case.objects.filter(kind="warranty").exists()


def test_r_sup_4_internal_notes_stay_off_the_customers_timeline(open_ticket, agent, customer):
    case = open_ticket()
    tickets.reply(case=case, actor=agent, body="Customer sounds upset; be careful.", public=False)
    tickets.reply(case=case, actor=agent, body="Please try a reset.")
    events = CaseEvent.objects.filter(case=case, type="note")
    assert [(e.note, e.public) for e in events] == [
        ("Customer sounds upset; be careful.", False),
        ("Please try a reset.", True),
    ]
    # The customer is told of the answer, not of the note.
    titles = list(Notification.objects.filter(user=customer, case=case).values_list("body", flat=True))
    assert "Please try a reset." in titles and "Customer sounds upset; be careful." not in titles


def test_r_sup_4_a_reply_needs_text_and_a_worker(open_ticket, customer, agent):
    case = open_ticket()
    with pytest.raises(ValidationFailed):
        tickets.reply(case=case, actor=agent, body=" ")
    with pytest.raises(NotAllowed):
        tickets.reply(case=case, actor=customer, body="I am staff now")
    with pytest.raises(ValidationFailed):
        tickets.reply(case=case, actor=agent, body="note", public=False, then="resolve")


def test_r_fb_1_a_low_rating_reopens_the_ticket_and_tells_the_team(open_ticket, agent, lead, customer):
    from aftersales.cases import services as case_services
    from aftersales.cases.models import FollowUp

    case = open_ticket()
    tickets.resolve(case=case, actor=agent, note="Reset it.")
    tickets.close(case=Case.objects.get(pk=case.pk), actor=agent)
    closed = Case.objects.get(pk=case.pk)
    case_services.leave_feedback(case=closed, customer=customer, rating=2, reason="outcome", comment="Still broken")
    reopened = Case.objects.get(pk=case.pk)
    ticket = Ticket.objects.get(pk=case.pk)
    assert reopened.status == "open" and reopened.closed_at is None
    assert ticket.clock_started_at is not None and ticket.resolution_due_at is not None  # the clock runs again
    assert not FollowUp.objects.filter(case=case).exists()  # reopening is the follow-up
    assert Notification.objects.filter(user=lead, case=case, title__contains="2/5").exists()
    assert CaseEvent.objects.filter(case=case, data__transition="reopen_after_rating", public=True).exists()

    # Closed again: the customer is not asked to rate a second time.
    invitations = Notification.objects.filter(user=customer, case=case, title__startswith="How did we do")
    assert invitations.count() == 1
    tickets.close(case=reopened, actor=agent)
    assert invitations.count() == 1


def test_r_fb_1_a_good_rating_leaves_the_ticket_closed(open_ticket, agent, customer):
    from aftersales.cases import services as case_services

    case = open_ticket()
    tickets.close(case=case, actor=agent)
    case_services.leave_feedback(case=Case.objects.get(pk=case.pk), customer=customer, rating=4)
    assert Case.objects.get(pk=case.pk).status == "closed"
