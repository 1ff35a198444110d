"""What the deadline sweeper does to return cases when their deadline passes (R-RET-10).

Each handler gets the ids of the due cases, locked by the sweeper's transaction and with their
deadline already cleared; a handler that needs a later deadline sets it again."""

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftersales.cases import services as case_services
from aftersales.cases.models import Case, CaseEvent
from aftersales.cases.notifications import notify


def remind_unshipped(*, case_ids, now):
    """R-RET-10: a day before the ship deadline, remind the customer who has not shipped yet; the
    request then expires at the deadline itself."""
    from . import services
    from .models import ReturnRequest

    requests = ReturnRequest.objects.filter(
        case_id__in=case_ids, case__status="awaiting_parcel", shipped_at__isnull=True
    ).select_related("case", "case__customer")
    for request in requests:
        case, ship_by = request.case, request.ship_by or now
        until = timezone.localtime(ship_by).strftime("%Y-%m-%d %H:%M")
        notify(
            user=case.customer,
            case=case,
            title=lambda case=case: (
                gettext("Reminder: please ship your return parcel for %(number)s") % {"number": case.number}
            ),
            body=lambda until=until: (
                gettext("Send the parcel and enter its tracking number by %(until)s, or the request closes (R-RET-10).")
                % {"until": until}
            ),
        )
        case_services.set_deadline(case=case, deadline_at=max(ship_by, now), deadline_action=services.EXPIRE_UNSHIPPED)


def inspection_overdue(*, case_ids, now):
    """R-RET-10: a received parcel not inspected within the business days allowed is flagged on the
    case's internal timeline and escalated to every supervisor (the deadline is not set again)."""
    from aftersales.accounts.roles import SUPERVISOR

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


def confirm_receipt(*, case_ids, now):
    """A shipped replacement counts as received once the configured days have passed without the
    customer confirming or complaining; the case completes."""
    from . import services

    for case in Case.objects.filter(id__in=case_ids, status="replacement_shipped").order_by("id"):
        services.confirm_receipt(case=case, actor=None)
