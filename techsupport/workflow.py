"""Transition table for support tickets (R-SUP-2, R-SUP-3, R-SUP-6).

Every step is taken through `techsupport.services`, which also runs the SLA clock: staff work a
ticket on its dashboard page, customers on its portal page. The deadline sweeper drives the clock's
alerts (`sla`), the reminder to a customer we wait on (`remind`) and auto-close (`auto_close`)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from aftersales.cases.models import CaseKind
from aftersales.cases.workflow import DeadlineAction, Transition, Workflow

NEW, OPEN, WAITING, RESOLVED, CLOSED = "new", "open", "waiting_on_customer", "resolved", "closed"

STATUSES = {
    NEW: _("New"),
    OPEN: _("In progress"),
    WAITING: _("Waiting for your reply"),
    RESOLVED: _("Resolved"),
    CLOSED: _("Closed"),
}

# The resolution clock runs in these statuses and is paused in the others (R-SUP-3).
CLOCK_RUNS = frozenset({NEW, OPEN})
WORK = "techsupport.work_ticket"


def _staff_steps_url(case) -> str:
    return reverse("admin:techsupport_ticket_change", args=[case.pk])


def _sla_due(case_ids, now):
    from .services import clock

    clock.sweep(case_ids=case_ids, now=now)


def _remind(case_ids, now):
    from .services import tickets

    tickets.remind_waiting(case_ids=case_ids, now=now)


def _auto_close(case_ids, now):
    from .services import tickets

    tickets.auto_close(case_ids=case_ids, now=now)


def _low_rating(*, case, feedback):
    from .services import tickets

    tickets.reopen_after_rating(case=case, feedback=feedback)


def workflows() -> list[Workflow]:
    ts = [
        Transition("accept", frozenset({NEW}), OPEN, allowed=WORK, label=_("Accept")),
        Transition(
            "ask_customer",
            frozenset({NEW, OPEN}),
            WAITING,
            allowed=WORK,
            label=_("Wait for the customer"),
        ),
        Transition("customer_replied", frozenset({WAITING}), OPEN, allowed="customer", label=_("Reply")),
        Transition("resolve", frozenset({NEW, OPEN, WAITING}), RESOLVED, allowed=WORK, label=_("Resolve")),
        Transition("reopen", frozenset({RESOLVED}), OPEN, allowed="customer", label=_("Reopen")),
        Transition("staff_reopen", frozenset({RESOLVED}), OPEN, allowed=WORK, label=_("Reopen")),
        Transition(
            "close",
            frozenset({NEW, OPEN, WAITING, RESOLVED}),
            CLOSED,
            allowed=WORK,
            label=_("Close"),
        ),
        Transition("auto_close", frozenset({WAITING, RESOLVED}), CLOSED, allowed="system"),
        # R-FB-1: a rating of 1–2 reopens the ticket.
        Transition("reopen_after_rating", frozenset({CLOSED}), OPEN, allowed="system"),
    ]
    return [
        Workflow(
            kind=CaseKind.TICKET,
            initial=NEW,
            statuses=STATUSES,
            final=frozenset({CLOSED}),
            transitions={t.name: t for t in ts},
            deadline_actions={
                "sla": DeadlineAction("sla", handler=_sla_due, label=_("check the SLA targets")),
                "remind": DeadlineAction("remind", handler=_remind, label=_("remind the customer to answer")),
                "auto_close": DeadlineAction("auto_close", handler=_auto_close, label=_("close the unanswered ticket")),
            },
            feedback_on=frozenset({CLOSED}),
            staff_steps_url=_staff_steps_url,
            own_customer_steps=frozenset({"customer_replied", "reopen"}),
            on_low_rating=_low_rating,
            own_messages=True,
        )
    ]
