"""Transition table for support tickets (R-SUP-2, R-SUP-6). The support issue adds SLA clocks,
escalation and auto-close on top."""

from django.utils.translation import gettext_lazy as _

from aftersales.cases.models import CaseKind
from aftersales.cases.workflow import Transition, Workflow

STATUSES = {
    "new": _("New"),
    "open": _("In progress"),
    "waiting_on_customer": _("Waiting for your reply"),
    "resolved": _("Resolved"),
    "closed": _("Closed"),
}


def workflows() -> list[Workflow]:
    ts = [
        Transition("accept", frozenset({"new"}), "open"),
        Transition("ask_customer", frozenset({"new", "open"}), "waiting_on_customer"),
        Transition(
            "customer_replied",
            frozenset({"waiting_on_customer"}),
            "open",
            allowed="customer",
            label=_("I have replied"),
        ),
        Transition("resolve", frozenset({"new", "open", "waiting_on_customer"}), "resolved"),
        Transition("reopen", frozenset({"resolved"}), "open", allowed="customer", label=_("Reopen")),
        Transition("close", frozenset({"resolved", "waiting_on_customer"}), "closed"),
    ]
    return [
        Workflow(
            kind=CaseKind.TICKET,
            initial="new",
            statuses=STATUSES,
            final=frozenset({"closed"}),
            transitions={t.name: t for t in ts},
        )
    ]
