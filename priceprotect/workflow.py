"""Price-protection claims (R-PP-7): a claim that passes every rule is approved at once and paid; a
suspected pricing error waits in `submitted` for an agent. A credited claim is compensated when its
finance refund is paid (coupon, balance, points: at once); a repriced one as soon as it is approved.
Revocation (R-PP-6) books what came back and closes the claim as revoked once nothing is left."""

from django.utils.translation import gettext_lazy as _

from aftersales.cases.models import CaseKind
from aftersales.cases.workflow import Transition, Workflow

STATUSES = {
    "submitted": _("Waiting for review"),
    "approved": _("Approved"),
    "rejected": _("Rejected"),
    "compensated": _("Compensated"),
    "revoked": _("Revoked"),
}
FINAL = frozenset({"rejected", "compensated", "revoked"})

REVIEW = "priceprotect.review_claim"


def _t(name, sources, target, label, allowed="system"):
    return Transition(name=name, sources=frozenset(sources), target=target, allowed=allowed, label=label)


TRANSITIONS = [
    _t("auto_approve", {"submitted"}, "approved", _("Approve automatically")),
    _t("approve", {"submitted"}, "approved", _("Approve"), REVIEW),
    _t("reject", {"submitted"}, "rejected", _("Reject"), REVIEW),
    _t("compensate", {"approved"}, "compensated", _("Compensated")),
    _t("refund_rejected", {"approved"}, "rejected", _("Refund rejected by finance")),
    _t("revoke", {"submitted", "approved", "compensated"}, "revoked", _("Revoke")),
]


def staff_steps_url(case) -> str:
    """Agents decide claims on the claim's review page, where the drop and the price history are shown."""
    from django.urls import reverse

    return reverse("admin:priceprotect_claim_change", args=[case.pk])


def workflows() -> list[Workflow]:
    return [
        Workflow(
            kind=CaseKind.PRICE_PROTECTION,
            initial="submitted",
            statuses=STATUSES,
            final=FINAL,
            transitions={t.name: t for t in TRANSITIONS},
            feedback_on=frozenset({"compensated"}),
            staff_steps_url=staff_steps_url,
        )
    ]
