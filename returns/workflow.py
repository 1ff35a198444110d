"""Transition tables for the returns app's case kinds (R-RET-9, R-RET-10, R-RET-11, R-RET-14).

- Return: reviewed → the customer's parcel → received → inspected → refund pending → completed
  (a failed inspection sends the goods back instead).
- Exchange: the same way in, then the replacement ships → completed when the customer confirms
  receipt (or automatically after the configured days).
- Reissue: reviewed → the missing items ship → completed the same way.
- Refund only: reviewed → refund pending → completed.
- A refund that finance rejects sends the case back to an agent, who queues it again (a corrected
  amount) or pays nothing: a return's goods are then sent back, a refund-only request is closed.

Deadline handlers live in `returns.deadlines`; they go through `returns.services`."""

from django.utils.translation import gettext_lazy as _

from aftersales.cases.models import CaseKind
from aftersales.cases.workflow import DeadlineAction, Transition, Workflow

STATUSES = {
    "submitted": _("Submitted"),
    "awaiting_parcel": _("Approved: awaiting your parcel"),
    "reissue_approved": _("Approved: the items will be sent again"),
    "rejected": _("Rejected"),
    "cancelled": _("Cancelled"),
    "expired": _("Expired (not shipped in time)"),
    "received": _("Parcel received"),
    "inspection_passed": _("Inspection passed"),
    "inspection_failed": _("Inspection failed"),
    "refund_pending": _("Refund pending: finance is paying your refund"),
    "refund_refused": _("Refund under review: the shop will contact you"),
    "replacement_shipped": _("Replacement shipped"),
    "sent_back": _("Goods sent back to you"),
    "completed": _("Completed"),
}
FINAL = frozenset({"rejected", "cancelled", "expired", "sent_back", "completed"})
# R-FB-1: the customer is invited to rate a case that closes with the shop's decision or work.
FEEDBACK_ON = frozenset({"rejected", "sent_back", "completed"})


def _t(name, sources, target, label, allowed="cases.change_case"):
    return Transition(name=name, sources=frozenset(sources), target=target, allowed=allowed, label=label)


REVIEW = [
    _t("approve", {"submitted"}, "awaiting_parcel", _("Approve")),
    _t("reject", {"submitted"}, "rejected", _("Reject")),
]
PARCEL_IN = [
    _t("cancel", {"submitted", "awaiting_parcel"}, "cancelled", _("Cancel my request"), allowed="customer"),
    _t("expire", {"awaiting_parcel"}, "expired", _("Expire"), allowed="system"),
    _t("receive", {"awaiting_parcel"}, "received", _("Parcel received")),
    _t("pass_inspection", {"received"}, "inspection_passed", _("Inspection passed")),
    _t("fail_inspection", {"received"}, "inspection_failed", _("Inspection failed")),
]
REPLACEMENT_OUT = [
    _t("confirm_receipt", {"replacement_shipped"}, "completed", _("I received the replacement"), allowed="customer"),
    _t("complete", {"replacement_shipped"}, "completed", _("Complete"), allowed="system"),
]
# Finance rejected the refund (R-FIN-3): an agent queues a corrected one, or pays nothing, in which
# case goods the shop received go back to the customer.
REFUND_REFUSED = [
    _t("refund_refused", {"refund_pending"}, "refund_refused", _("Refund rejected by finance"), allowed="system"),
    _t("requeue_refund", {"refund_refused"}, "refund_pending", _("Queue the refund again")),
]
RETURN_TRANSITIONS = [
    *REVIEW,
    *PARCEL_IN,
    _t("send_back", {"inspection_failed", "refund_refused"}, "sent_back", _("Send the goods back")),
    _t("queue_refund", {"inspection_passed"}, "refund_pending", _("Queue the refund"), allowed="system"),
    # The refund was paid (finance settles it), or nothing was left to refund.
    _t("complete", {"inspection_passed", "refund_pending"}, "completed", _("Complete"), allowed="system"),
    *REFUND_REFUSED,
]
EXCHANGE_TRANSITIONS = [
    *REVIEW,
    *PARCEL_IN,
    _t("send_back", {"inspection_failed"}, "sent_back", _("Send the goods back")),
    _t("ship_replacement", {"inspection_passed"}, "replacement_shipped", _("Ship the replacement")),
    *REPLACEMENT_OUT,
]
REISSUE_TRANSITIONS = [
    _t("approve", {"submitted"}, "reissue_approved", _("Approve")),
    _t("reject", {"submitted"}, "rejected", _("Reject")),
    _t("cancel", {"submitted", "reissue_approved"}, "cancelled", _("Cancel my request"), allowed="customer"),
    _t("ship_replacement", {"reissue_approved"}, "replacement_shipped", _("Ship the missing items")),
    *REPLACEMENT_OUT,
]
REFUND_ONLY_TRANSITIONS = [
    _t("approve", {"submitted"}, "refund_pending", _("Approve")),
    _t("reject", {"submitted"}, "rejected", _("Reject")),
    _t("cancel", {"submitted"}, "cancelled", _("Cancel my request"), allowed="customer"),
    _t("complete", {"refund_pending"}, "completed", _("Complete"), allowed="system"),
    *REFUND_REFUSED,
    _t("close_without_refund", {"refund_refused"}, "rejected", _("Close without a refund")),
]

# Statuses each kind can be in, in the order a case goes through them.
KIND_STATUSES = {
    CaseKind.RETURN: (
        "submitted",
        "awaiting_parcel",
        "received",
        "inspection_passed",
        "inspection_failed",
        "refund_pending",
        "refund_refused",
        "sent_back",
        "completed",
        "rejected",
        "cancelled",
        "expired",
    ),
    CaseKind.EXCHANGE: (
        "submitted",
        "awaiting_parcel",
        "received",
        "inspection_passed",
        "inspection_failed",
        "replacement_shipped",
        "sent_back",
        "completed",
        "rejected",
        "cancelled",
        "expired",
    ),
    CaseKind.REISSUE: ("submitted", "reissue_approved", "replacement_shipped", "completed", "rejected", "cancelled"),
    CaseKind.REFUND_ONLY: ("submitted", "refund_pending", "refund_refused", "completed", "rejected", "cancelled"),
}
KIND_TRANSITIONS = {
    CaseKind.RETURN: RETURN_TRANSITIONS,
    CaseKind.EXCHANGE: EXCHANGE_TRANSITIONS,
    CaseKind.REISSUE: REISSUE_TRANSITIONS,
    CaseKind.REFUND_ONLY: REFUND_ONLY_TRANSITIONS,
}

REMIND_UNSHIPPED = "remind_unshipped"
EXPIRE_UNSHIPPED = "expire_unshipped"
INSPECTION_OVERDUE = "inspection_overdue"
CONFIRM_RECEIPT = "confirm_receipt"


def _deadline_actions(kind: str) -> list[DeadlineAction]:
    from . import deadlines

    actions = []
    if kind in (CaseKind.RETURN, CaseKind.EXCHANGE):
        actions += [
            DeadlineAction(
                name=REMIND_UNSHIPPED,
                handler=deadlines.remind_unshipped,
                label=_("remind the customer to ship the parcel"),
            ),
            DeadlineAction(
                name=EXPIRE_UNSHIPPED,
                transition="expire",
                label=_("close the request: the parcel was not shipped"),
                note=_(
                    "The parcel was not shipped within the deadline after approval, so the request was closed "
                    "(R-RET-10)."
                ),
            ),
            DeadlineAction(
                name=INSPECTION_OVERDUE, handler=deadlines.inspection_overdue, label=_("escalate the late inspection")
            ),
        ]
    if kind in (CaseKind.EXCHANGE, CaseKind.REISSUE):
        actions.append(
            DeadlineAction(
                name=CONFIRM_RECEIPT, handler=deadlines.confirm_receipt, label=_("count the replacement as received")
            )
        )
    return actions


def staff_steps_url(case) -> str:
    """Staff take a return's steps on its request page, where deadlines, refunds and checks run."""
    from django.urls import reverse

    return reverse("admin:returns_returnrequest_change", args=[case.pk])


def workflows() -> list[Workflow]:
    flows = []
    for kind, names in KIND_STATUSES.items():
        flows.append(
            Workflow(
                kind=kind,
                initial="submitted",
                statuses={name: STATUSES[name] for name in names},
                final=FINAL & set(names),
                transitions={t.name: t for t in KIND_TRANSITIONS[kind]},
                deadline_actions={a.name: a for a in _deadline_actions(kind)},
                feedback_on=FEEDBACK_ON & set(names),
                staff_steps_url=staff_steps_url,
            )
        )
    return flows
