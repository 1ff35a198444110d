"""R-SUP-3: SLA targets in business hours on the shop's calendar, the clock that pauses while we wait on
the customer, and the three escalation levels that each fire once."""

from datetime import timedelta

import pytest

from aftersales.cases.deadlines import sweep_due_deadlines
from aftersales.cases.models import Case, Notification
from techsupport.models import SlaAlert, SlaFlag, SlaPolicy, SupportSettings, Ticket
from techsupport.services import tickets
from tests.techsupport.conftest import at

pytestmark = pytest.mark.django_db


def ticket_of(case) -> Ticket:
    return Ticket.objects.select_related("case").get(pk=case.pk)


@pytest.mark.parametrize(
    ("opened", "due"),
    [
        (at(2026, 3, 4, 10, 0), at(2026, 3, 4, 11, 0)),  # a plain Wednesday morning
        (at(2026, 3, 4, 11, 30), at(2026, 3, 4, 14, 0)),  # across the lunch break (12:00–13:30)
        (at(2026, 3, 6, 17, 30), at(2026, 3, 9, 9, 30)),  # Friday evening → Monday
        (at(2026, 3, 7, 10, 0), at(2026, 3, 9, 10, 0)),  # opened on a Saturday: Monday 09:00 + 1 h
        (at(2026, 2, 13, 17, 30), at(2026, 2, 14, 9, 30)),  # → the make-up working Saturday
        (at(2026, 2, 14, 17, 30), at(2026, 2, 24, 9, 30)),  # → across the Spring Festival
    ],
)
def test_r_sup_3_default_first_response_is_one_business_hour(open_ticket, time_machine, opened, due):
    time_machine.move_to(opened, tick=False)
    ticket = ticket_of(open_ticket())
    assert ticket.first_response_minutes == 60
    assert ticket.first_response_due_at == due
    assert ticket.sla_due_at == due  # the queue sorts by the earliest running target
    assert ticket.case.deadline_action == "sla"


def test_r_sup_3_policy_chosen_by_category_priority_and_tier(open_ticket, customer, time_machine):
    SlaPolicy.objects.create(name="Complaints", position=20, categories=["complaint"], first_response_minutes=240)
    SlaPolicy.objects.create(
        name="VIP urgent", position=10, priorities=["urgent", "high"], customer_tiers=["vip"], first_response_minutes=15
    )
    SlaPolicy.objects.create(name="Off", position=1, active=False, first_response_minutes=1)
    time_machine.move_to(at(2026, 3, 4, 10, 0), tick=False)

    complaint = ticket_of(open_ticket(category="complaint", priority="high"))
    assert complaint.sla_policy.name == "Complaints"
    assert complaint.first_response_due_at == at(2026, 3, 4, 15, 30)  # 4 h across lunch

    customer.tier = "vip"
    customer.save()
    vip = ticket_of(open_ticket(category="complaint", priority="high"))
    assert vip.sla_policy.name == "VIP urgent"  # position 10 is tried before 20
    assert vip.first_response_due_at == at(2026, 3, 4, 10, 15)

    plain = ticket_of(open_ticket(category="usage"))
    assert plain.sla_policy is None and plain.first_response_minutes == 60


def test_r_sup_3_raising_the_priority_moves_the_deadlines(open_ticket, agent, time_machine):
    SlaPolicy.objects.create(name="Urgent", priorities=["urgent"], first_response_minutes=30, resolution_minutes=120)
    time_machine.move_to(at(2026, 3, 4, 10, 0), tick=False)
    case = open_ticket()
    time_machine.move_to(at(2026, 3, 4, 10, 10), tick=False)
    tickets.set_priority(case=case, actor=agent, priority="urgent")
    ticket = ticket_of(case)
    assert ticket.first_response_due_at == at(2026, 3, 4, 10, 30)  # counted from the opening
    assert ticket.resolution_due_at == at(2026, 3, 4, 12, 0)
    assert ticket.case.deadline_at == at(2026, 3, 4, 10, 24)  # the warning at 80 % of 30 min


def test_r_sup_3_clock_pauses_while_waiting_on_the_customer_and_resumes(open_ticket, agent, customer, time_machine):
    SlaPolicy.objects.create(name="Std", first_response_minutes=60, next_response_minutes=120, resolution_minutes=480)
    time_machine.move_to(at(2026, 3, 2, 9, 0), tick=False)  # Monday
    case = open_ticket()
    assert ticket_of(case).resolution_due_at == at(2026, 3, 3, 9, 30)  # 3 h + 4.5 h on Monday, 30 min Tuesday

    time_machine.move_to(at(2026, 3, 2, 10, 0), tick=False)
    tickets.reply(case=case, actor=agent, body="Which phone model?", then="ask_customer")
    ticket = ticket_of(case)
    assert ticket.case.status == "waiting_on_customer"
    assert ticket.first_responded_at == at(2026, 3, 2, 10, 0) and not ticket.first_response_breached
    assert ticket.clock_started_at is None and ticket.resolution_due_at is None and ticket.sla_due_at is None
    assert ticket.resolution_used == timedelta(hours=1)
    assert ticket.case.deadline_action == "remind"

    time_machine.move_to(at(2026, 3, 4, 9, 0), tick=False)  # Wednesday, two days later
    tickets.customer_reply(case=case, customer=customer, body="An X200.")
    ticket = ticket_of(case)
    assert ticket.case.status == "open"
    # 7 business hours left from Wednesday 09:00: 3 before lunch, 4 after → 17:30.
    assert ticket.resolution_due_at == at(2026, 3, 4, 17, 30)
    assert ticket.next_response_due_at == at(2026, 3, 4, 11, 0)
    assert ticket.sla_due_at == at(2026, 3, 4, 11, 0)

    time_machine.move_to(at(2026, 3, 4, 10, 0), tick=False)
    tickets.reply(case=case, actor=agent, body="Update the app to 3.2.")
    ticket = ticket_of(case)
    assert ticket.next_response_due_at is None and ticket.awaiting_reply_since is None
    assert ticket.sla_due_at == at(2026, 3, 4, 17, 30)
    assert not ticket.next_response_breached


def test_r_sup_3_internal_note_is_not_a_response(open_ticket, agent, time_machine):
    time_machine.move_to(at(2026, 3, 4, 10, 0), tick=False)
    case = open_ticket()
    tickets.reply(case=case, actor=agent, body="Looks like the known pairing bug.", public=False)
    ticket = ticket_of(case)
    assert ticket.first_responded_at is None and ticket.case.status == "new"
    assert not ticket.case.events.filter(note__startswith="Looks like", public=True).exists()


def test_r_sup_3_escalation_levels_fire_once_each(open_ticket, agent, lead, supervisor, time_machine):
    time_machine.move_to(at(2026, 3, 4, 10, 30), tick=False)
    case = open_ticket()
    tickets.assign(case=case, actor=agent, assignee=agent)
    told = lambda user: Notification.objects.filter(user=user, case=case, title__startswith="SLA").count()  # noqa: E731

    # 80 % of the hour: the assignee is warned.
    sweep_due_deadlines(now=at(2026, 3, 4, 11, 18))
    assert (told(agent), told(lead), told(supervisor)) == (1, 0, 0)
    assert ticket_of(case).sla_flag == SlaFlag.WARNING
    sweep_due_deadlines(now=at(2026, 3, 4, 11, 20))  # nothing due: nothing repeats
    assert told(agent) == 1

    # The breach: assignee and team lead.
    sweep_due_deadlines(now=at(2026, 3, 4, 11, 30))
    assert (told(agent), told(lead), told(supervisor)) == (2, 1, 0)
    ticket = ticket_of(case)
    assert ticket.sla_flag == SlaFlag.BREACHED and ticket.first_response_breached

    # An hour (of business time: lunch does not count) after the breach: a supervisor.
    sweep_due_deadlines(now=at(2026, 3, 4, 13, 59))
    assert told(supervisor) == 0
    assert Case.objects.get(pk=case.pk).deadline_at == at(2026, 3, 4, 14, 0)
    sweep_due_deadlines(now=at(2026, 3, 4, 14, 0))
    for _ in range(3):
        sweep_due_deadlines(now=at(2026, 3, 5, 9, 0))
    assert (told(agent), told(lead), told(supervisor)) == (2, 1, 1)
    levels = list(SlaAlert.objects.filter(ticket_id=case.pk).values_list("target", "level"))
    assert levels == [("first_response", 1), ("first_response", 2), ("first_response", 3)]
    # Next: the resolution target's warning, at 80 % of 24 business hours (7.5 a day) from the opening.
    assert Case.objects.get(pk=case.pk).deadline_at == at(2026, 3, 6, 16, 12)


def test_r_sup_3_unassigned_warning_goes_to_the_team(open_ticket, agent, lead, time_machine):
    time_machine.move_to(at(2026, 3, 4, 10, 0), tick=False)
    case = open_ticket()
    sweep_due_deadlines(now=at(2026, 3, 4, 10, 48))
    assert Notification.objects.filter(user=agent, case=case, title__startswith="SLA").count() == 1
    assert not Notification.objects.filter(user=lead, case=case, title__startswith="SLA").exists()


def test_r_sup_3_a_late_answer_records_the_breach_and_clears_the_flag(open_ticket, agent, time_machine):
    time_machine.move_to(at(2026, 3, 4, 10, 0), tick=False)
    case = open_ticket()
    time_machine.move_to(at(2026, 3, 4, 11, 30), tick=False)
    tickets.reply(case=case, actor=agent, body="Sorry for the wait.")
    ticket = ticket_of(case)
    assert ticket.first_response_breached
    assert ticket.sla_flag == SlaFlag.OK  # the resolution target still runs, and is on time
    assert ticket.sla_due_at == ticket.resolution_due_at


def test_r_sup_6_waiting_ticket_is_reminded_then_closed(open_ticket, agent, customer, time_machine):
    knobs = SupportSettings.current()
    assert (knobs.remind_after_days, knobs.close_after_days) == (5, 7)
    time_machine.move_to(at(2026, 3, 4, 10, 0), tick=False)
    case = open_ticket()
    tickets.reply(case=case, actor=agent, body="Please send a photo of the label.", then="ask_customer")

    sweep_due_deadlines(now=at(2026, 3, 9, 9, 59))
    assert not Notification.objects.filter(user=customer, title__startswith="We are waiting").exists()
    sweep_due_deadlines(now=at(2026, 3, 9, 10, 0))
    assert Notification.objects.filter(user=customer, title__startswith="We are waiting").count() == 1
    case.refresh_from_db()
    assert case.status == "waiting_on_customer" and case.deadline_action == "auto_close"
    assert case.deadline_at == at(2026, 3, 11, 10, 0)

    sweep_due_deadlines(now=at(2026, 3, 11, 10, 0))
    case.refresh_from_db()
    assert case.status == "closed" and case.closed_at is not None
    assert Notification.objects.filter(user=customer, case=case, title__startswith="How did we do").exists()


def test_r_sup_6_a_reply_stops_the_countdown(open_ticket, agent, customer, time_machine):
    time_machine.move_to(at(2026, 3, 4, 10, 0), tick=False)
    case = open_ticket()
    tickets.reply(case=case, actor=agent, body="Which model?", then="ask_customer")
    time_machine.move_to(at(2026, 3, 8, 10, 0), tick=False)
    tickets.customer_reply(case=case, customer=customer, body="X200")
    sweep_due_deadlines(now=at(2026, 3, 12, 10, 0))
    case.refresh_from_db()
    assert case.status == "open"
    assert case.deadline_action == "sla"


def test_r_sup_6_resolved_ticket_closes_by_itself_unless_the_customer_replies(
    open_ticket, agent, customer, time_machine
):
    time_machine.move_to(at(2026, 3, 4, 10, 0), tick=False)
    first, second = open_ticket(), open_ticket()
    for case in (first, second):
        tickets.resolve(case=case, actor=agent, note="Reset the router; fixed.")
    time_machine.move_to(at(2026, 3, 5, 10, 0), tick=False)
    tickets.customer_reply(case=second, customer=customer, body="It broke again.")
    assert Case.objects.get(pk=second.pk).status == "open"
    assert ticket_of(second).resolved_at is None

    sweep_due_deadlines(now=at(2026, 3, 11, 10, 0))
    assert Case.objects.get(pk=first.pk).status == "closed"
    assert Case.objects.get(pk=second.pk).status == "open"
