"""Transition table for price-protection claims (R-PP-7). The price-protection issue adds
compensation and revocation on top."""

from django.utils.translation import gettext_lazy as _

from aftersales.cases.models import CaseKind
from aftersales.cases.workflow import Transition, Workflow

STATUSES = {
    "submitted": _("Submitted"),
    "approved": _("Approved"),
    "rejected": _("Rejected"),
    "compensated": _("Compensated"),
    "revoked": _("Revoked"),
}


def workflows() -> list[Workflow]:
    ts = [
        Transition("approve", frozenset({"submitted"}), "approved"),
        Transition("reject", frozenset({"submitted"}), "rejected"),
        Transition("compensate", frozenset({"approved"}), "compensated", allowed="system"),
        Transition("revoke", frozenset({"compensated"}), "revoked", allowed="system"),
    ]
    return [
        Workflow(
            kind=CaseKind.PRICE_PROTECTION,
            initial="submitted",
            statuses=STATUSES,
            final=frozenset({"rejected", "compensated", "revoked"}),
            transitions={t.name: t for t in ts},
        )
    ]
