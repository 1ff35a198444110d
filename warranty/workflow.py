"""Transition table for warranty claims (R-WAR-5). The warranty issue extends it with diagnosis
outcomes, paid quotes and the ship-in deadline."""

from django.utils.translation import gettext_lazy as _

from aftersales.cases.models import CaseKind
from aftersales.cases.workflow import Transition, Workflow

STATUSES = {
    "submitted": _("Submitted"),
    "accepted": _("Accepted: awaiting the unit"),
    "rejected": _("Rejected"),
    "received": _("Unit received"),
    "repairing": _("Being repaired"),
    "shipped_back": _("Shipped back"),
    "closed": _("Closed"),
}


def workflows() -> list[Workflow]:
    ts = [
        Transition("accept", frozenset({"submitted"}), "accepted"),
        Transition("reject", frozenset({"submitted"}), "rejected"),
        Transition("receive", frozenset({"accepted"}), "received"),
        Transition("start_repair", frozenset({"received"}), "repairing"),
        Transition("ship_back", frozenset({"repairing"}), "shipped_back"),
        Transition("close", frozenset({"shipped_back"}), "closed"),
    ]
    return [
        Workflow(
            kind=CaseKind.WARRANTY,
            initial="submitted",
            statuses=STATUSES,
            final=frozenset({"rejected", "closed"}),
            transitions={t.name: t for t in ts},
        )
    ]
