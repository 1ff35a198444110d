"""Transition tables for the returns app's case kinds (R-RET-9, R-RET-10).

Return, exchange, reissue and refund-only share one flow shape for now; the returns issue refines
each kind's steps (refund queued, replacement shipped) on top of this table."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftersales.cases.models import CaseKind
from aftersales.cases.workflow import DeadlineAction, Transition, Workflow

STATUSES = {
    "submitted": _("Submitted"),
    "awaiting_parcel": _("Approved: awaiting your parcel"),
    "rejected": _("Rejected"),
    "cancelled": _("Cancelled"),
    "expired": _("Expired (not shipped in time)"),
    "received": _("Parcel received"),
    "inspection_passed": _("Inspection passed"),
    "inspection_failed": _("Inspection failed"),
    "completed": _("Completed"),
}
FINAL = frozenset({"rejected", "cancelled", "expired", "completed"})


def _t(name, sources, target, label, allowed="cases.change_case"):
    return Transition(name=name, sources=frozenset(sources), target=target, allowed=allowed, label=label)


TRANSITIONS = [
    _t("approve", {"submitted"}, "awaiting_parcel", _("Approve")),
    _t("reject", {"submitted"}, "rejected", _("Reject")),
    _t("cancel", {"submitted", "awaiting_parcel"}, "cancelled", _("Cancel my request"), allowed="customer"),
    _t("expire", {"awaiting_parcel"}, "expired", _("Expire"), allowed="system"),
    _t("receive", {"awaiting_parcel"}, "received", _("Parcel received")),
    _t("pass_inspection", {"received"}, "inspection_passed", _("Inspection passed")),
    _t("fail_inspection", {"received"}, "inspection_failed", _("Inspection failed")),
    _t("complete", {"inspection_passed", "inspection_failed"}, "completed", _("Complete")),
]


def inspection_overdue(*, case_ids, now):
    """R-RET-10: a received parcel not inspected within the business days allowed is flagged on the
    case's internal timeline and escalated to every supervisor (the deadline is not set again)."""
    from django.contrib.auth import get_user_model

    from aftersales.accounts.roles import SUPERVISOR
    from aftersales.cases.models import Case, CaseEvent
    from aftersales.cases.notifications import notify

    cases = list(Case.objects.filter(id__in=case_ids, status="received").order_by("id"))
    note = str(_("Inspection overdue: the parcel was not inspected within the deadline (R-RET-10)."))
    CaseEvent.objects.bulk_create(
        [
            CaseEvent(
                case=case,
                at=now,
                type=CaseEvent.Type.DEADLINE,
                note=note,
                data={"deadline_action": "inspection_overdue"},
                public=False,
            )
            for case in cases
        ]
    )
    supervisors = list(get_user_model().objects.filter(groups__name=SUPERVISOR, is_active=True).distinct())
    for case in cases:
        for supervisor in supervisors:
            notify(
                user=supervisor,
                case=case,
                title=lambda case=case: gettext("Inspection overdue: %(number)s") % {"number": case.number},
                body=lambda: gettext("The returned parcel was not inspected within the deadline (R-RET-10)."),
            )


DEADLINE_ACTIONS = [
    DeadlineAction(
        name="expire_unshipped",
        transition="expire",
        note=_("The parcel was not shipped within the deadline after approval, so the request was closed (R-RET-10)."),
    ),
    DeadlineAction(name="inspection_overdue", handler=inspection_overdue),
]


# Refund only (paid, never shipped): nothing comes back, so approval queues the refund at once.
REFUND_ONLY_STATUSES = {
    "submitted": _("Submitted"),
    "refund_queued": _("Approved: refund on its way"),
    "rejected": _("Rejected"),
    "cancelled": _("Cancelled"),
    "completed": _("Completed"),
}
REFUND_ONLY_TRANSITIONS = [
    _t("approve", {"submitted"}, "refund_queued", _("Approve")),
    _t("reject", {"submitted"}, "rejected", _("Reject")),
    _t("cancel", {"submitted"}, "cancelled", _("Cancel my request"), allowed="customer"),
    _t("complete", {"refund_queued"}, "completed", _("Complete"), allowed="system"),
]


def workflows() -> list[Workflow]:
    parcel_flows = [
        Workflow(
            kind=kind,
            initial="submitted",
            statuses=STATUSES,
            final=FINAL,
            transitions={t.name: t for t in TRANSITIONS},
            deadline_actions={a.name: a for a in DEADLINE_ACTIONS},
        )
        for kind in (CaseKind.RETURN, CaseKind.EXCHANGE, CaseKind.REISSUE)
    ]
    refund_only = Workflow(
        kind=CaseKind.REFUND_ONLY,
        initial="submitted",
        statuses=REFUND_ONLY_STATUSES,
        final=frozenset({"rejected", "cancelled", "completed"}),
        transitions={t.name: t for t in REFUND_ONLY_TRANSITIONS},
    )
    return [*parcel_flows, refund_only]
