"""What a ticket's portal page shows (`templates/techsupport/_case_actions.html`, included by the
core case page, which knows nothing of tickets): its facts, when we answer, and the reply form."""

from dataclasses import dataclass

from django import template

from ..forms import ReplyForm
from ..models import Ticket
from ..workflow import CLOSED, RESOLVED, WAITING

register = template.Library()


@dataclass
class TicketPanel:
    ticket: Ticket
    linked: list
    can_reply: bool
    reply_form: ReplyForm
    waiting_on_customer: bool
    resolved: bool
    answer_by: object  # when we promised an answer (first or next response), or None


@register.simple_tag
def ticket_panel(case, user):
    """None unless `user` is the ticket's customer (staff see the ticket on the dashboard)."""
    ticket = Ticket.objects.filter(pk=case.pk).select_related("team", "product", "related_case").first()
    if ticket is None or user.pk != case.customer_id:
        return None
    answer_by = None
    if case.status not in (WAITING, RESOLVED, CLOSED):
        answer_by = ticket.next_response_due_at or (None if ticket.first_responded_at else ticket.first_response_due_at)
    return TicketPanel(
        ticket=ticket,
        linked=list(ticket.linked_cases.order_by("opened_at")),
        can_reply=case.status != CLOSED,
        reply_form=ReplyForm(),
        waiting_on_customer=case.status == WAITING,
        resolved=case.status == RESOLVED,
        answer_by=answer_by,
    )
