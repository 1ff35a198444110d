"""Every step of a return request after submission (R-RET-9 … R-RET-14): review, the customer's
parcel, inspection, the refund, the replacement. Status changes go through
`aftersales.cases.services.transition`, which checks who may do what, moves the case with a
compare-and-set and records the event; every function takes keyword arguments only and runs in one
transaction."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.cases import services as case_services
from aftersales.cases import workflow as case_workflow
from aftersales.cases.calendar import add_business_days
from aftersales.cases.models import Case
from aftersales.common.errors import InvalidTransition, NotAllowed, PolicyRefused, ValidationFailed
from aftersales.common.locks import lock_one
from aftersales.common.shipping import shipment
from aftersales.finance.models import Refund
from aftersales.finance.services import request_refund
from aftersales.orders.guarantees import end_of_local_day, window_end
from priceprotect import selectors as price_protection_selectors
from priceprotect import services as price_protection

from .. import selectors
from ..models import ReturnRequest
from ..policy import Kind
from ..workflow import CONFIRM_RECEIPT, EXPIRE_UNSHIPPED, INSPECTION_OVERDUE, REMIND_UNSHIPPED

REMIND_BEFORE_EXPIRY = timedelta(days=1)


def _request_for(case: Case) -> ReturnRequest:
    return ReturnRequest.objects.get(case_id=case.pk)


def _may(*, case: Case, name: str, actor) -> None:
    """Permission and status first, so a caller without the right learns nothing from validation."""
    t = case_workflow.get(case.kind).transitions.get(name)
    if t is None:
        raise InvalidTransition()
    case_services.check_allowed(case=case, transition=t, actor=actor)
    if case.status not in t.sources:
        raise InvalidTransition()


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


# --- Review --------------------------------------------------------------------------------------


@transaction.atomic
def approve(*, case: Case, actor, note: str = "", now: datetime | None = None) -> Case:
    """R-RET-9/10. A return or exchange waits for the customer's parcel, which must ship by the end
    of the local day `ship_deadline_days` after approval (and while the appliance's inspection
    report is valid): a reminder goes out a day before, then the sweeper expires the request.
    A reissue waits for the shop to send the items again. Refund only has nothing to wait for:
    approval queues the refund for finance at once."""
    now = now or timezone.now()
    _may(case=case, name="approve", actor=actor)
    request = _request_for(case)
    if case.kind == Kind.REFUND_ONLY:
        case = case_services.transition(
            case=case, name="approve", actor=actor, note=note or _("Approved: your refund is on its way.")
        )
        price_protection.revoke_for_return(case=case)
        _queue_refund(case=case, amount=refund_due(request), requested_by=actor)
        return case
    if case.kind == Kind.REISSUE:
        return case_services.transition(
            case=case, name="approve", actor=actor, note=note or _("Approved: we will send the items again.")
        )
    ship_by = window_end(now, selectors.shop_policy().ship_deadline_days)
    if request.report_valid_until is not None:
        ship_by = min(ship_by, end_of_local_day(request.report_valid_until))
    remind_at = ship_by - REMIND_BEFORE_EXPIRY
    deadline_at, action = (remind_at, REMIND_UNSHIPPED) if remind_at > now else (ship_by, EXPIRE_UNSHIPPED)
    request.ship_by = ship_by
    request.save(update_fields=["ship_by"])
    instructions = _(
        "Please send the parcel by %(until)s, with the return label from your case page, and enter the "
        "carrier and tracking number there."
    ) % {"until": _when(ship_by)}
    return case_services.transition(
        case=case,
        name="approve",
        actor=actor,
        note=f"{note}\n{instructions}" if note else instructions,
        deadline_at=deadline_at,
        deadline_action=action,
    )


@transaction.atomic
def reject(*, case: Case, actor, reason_text: str) -> Case:
    """R-RET-9: rejected with a reason the customer sees."""
    _may(case=case, name="reject", actor=actor)
    reason_text = (reason_text or "").strip()
    if not reason_text:
        raise ValidationFailed(fields={"reason": [_("Tell the customer why the request is rejected.")]})
    return case_services.transition(case=case, name="reject", actor=actor, note=reason_text)


@transaction.atomic
def cancel(*, case: Case, customer) -> Case:
    """R-RET-9: the customer may cancel until the parcel is received (a reissue: until it ships)."""
    return case_services.transition(case=case, name="cancel", actor=customer, note=_("Cancelled by the customer."))


# --- The customer's parcel -------------------------------------------------------------------------


@transaction.atomic
def enter_tracking(*, case: Case, customer, carrier: str, tracking_number: str, now: datetime | None = None) -> Case:
    """R-RET-9: the customer shipped the parcel. Once shipped it no longer expires (R-RET-10), so
    the ship deadline is cleared; entering it again corrects the previous entry."""
    now = now or timezone.now()
    if customer is None or customer.pk != case.customer_id:
        raise NotAllowed()
    locked = lock_one(Case, case.pk)
    if locked.status != "awaiting_parcel":
        raise InvalidTransition()
    carrier, tracking_number = shipment(carrier, tracking_number)
    ReturnRequest.objects.filter(case_id=case.pk).update(
        carrier=carrier, tracking_number=tracking_number, shipped_at=now
    )
    case_services.set_deadline(case=locked, deadline_at=None)
    case_services.add_note(
        case=locked,
        actor=customer,
        note=_("Parcel shipped with %(carrier)s, tracking number %(number)s.")
        % {"carrier": carrier, "number": tracking_number},
        public=True,
    )
    locked.refresh_from_db()
    return locked


@transaction.atomic
def receive(*, case: Case, actor, now: datetime | None = None) -> Case:
    """R-RET-9/10: the parcel arrived; staff must inspect it by the end of the business day that is
    `inspection_business_days` business days after receipt (holidays and make-up working days per
    the shop's calendar), or it is flagged and escalated to supervisors."""
    now = now or timezone.now()
    _may(case=case, name="receive", actor=actor)
    shop = selectors.shop_policy()
    due = add_business_days(timezone.localdate(now), shop.inspection_business_days)
    case = case_services.transition(
        case=case,
        name="receive",
        actor=actor,
        note=_("Your parcel arrived; we will inspect it within %(days)d business days.")
        % {"days": shop.inspection_business_days},
        deadline_at=end_of_local_day(due),
        deadline_action=INSPECTION_OVERDUE,
    )
    ReturnRequest.objects.filter(case_id=case.pk).update(received_at=now)
    return case


# --- Inspection and what follows ---------------------------------------------------------------------


@transaction.atomic
def inspect(*, case: Case, actor, passed: bool, notes: str = "", deductions: Decimal = Decimal("0.00")) -> Case:
    """R-RET-9/11: pass or fail. A passed return queues its refund (the estimate less condition
    deductions) and waits for finance to pay it; a passed exchange for a cheaper variant queues the
    difference and waits for the replacement to ship. A failed inspection refunds nothing: the goods
    go back at the customer's expense."""
    name = "pass_inspection" if passed else "fail_inspection"
    _may(case=case, name=name, actor=actor)
    request = _request_for(case)
    deductions = Decimal(deductions or 0)
    if deductions < 0 or deductions > request.refund_estimate:
        raise ValidationFailed(
            fields={
                "deductions": [
                    _("Deductions must be between 0 and the refund estimate (%(estimate)s).")
                    % {"estimate": request.refund_estimate}
                ]
            }
        )
    notes = (notes or "").strip()
    if not passed and not notes:
        raise ValidationFailed(fields={"notes": [_("Say what was found, for the customer.")]})
    # A passed return moves on at once (refund queued, or completed): one message for both steps.
    moves_on = passed and case.kind == Kind.RETURN
    case = case_services.transition(
        case=case,
        name=name,
        actor=actor,
        note=notes,
        data={"deductions": str(deductions)},
        notify_customer=not moves_on,
    )
    request.inspection_notes = notes
    request.deductions = deductions if passed else Decimal("0.00")
    request.save(update_fields=["inspection_notes", "deductions"])
    if not passed:
        return case
    price_protection.revoke_for_return(case=case)  # R-PP-6, before the refund is counted
    due = refund_due(request)
    if case.kind == Kind.EXCHANGE:
        _queue_refund(case=case, amount=due, requested_by=actor)
        return case
    passed_note = _("Inspection passed.") + (f" {notes}" if notes else "")
    if due > 0:
        _queue_refund(case=case, amount=due, requested_by=actor)
        return case_services.transition(
            case=case,
            name="queue_refund",
            note=passed_note + "\n" + _("Your refund of %(amount)s is queued for payment.") % {"amount": due},
        )
    return case_services.transition(
        case=case, name="complete", note=passed_note + "\n" + _("Nothing is left to refund.")
    )


@transaction.atomic
def send_back(*, case: Case, actor, carrier: str, tracking_number: str, now: datetime | None = None) -> Case:
    """R-RET-11: after a failed inspection the goods go back to the customer (at their expense); so do
    a return's goods when finance rejected its refund and the shop pays nothing."""
    _may(case=case, name="send_back", actor=actor)
    carrier, tracking_number = shipment(carrier, tracking_number)
    _record_outbound(case, carrier, tracking_number, now or timezone.now())
    return case_services.transition(
        case=case,
        name="send_back",
        actor=actor,
        note=_("Your goods were sent back with %(carrier)s, tracking number %(number)s.")
        % {"carrier": carrier, "number": tracking_number},
    )


def _record_outbound(case: Case, carrier: str, tracking_number: str, now: datetime) -> None:
    ReturnRequest.objects.filter(case_id=case.pk).update(
        outbound_carrier=carrier, outbound_tracking_number=tracking_number, outbound_shipped_at=now
    )


def _queue_refund(*, case: Case, amount: Decimal, requested_by) -> None:
    """Hand the money to finance (R-FIN-1); one refund per case, whatever repeats."""
    if amount <= 0:
        return
    source = {
        Kind.REFUND_ONLY: Refund.Source.REFUND_ONLY,
        Kind.EXCHANGE: Refund.Source.EXCHANGE_DIFFERENCE,
    }.get(case.kind, Refund.Source.RETURN)
    # The first refund's key is the case's; one queued again after finance rejected it gets a new key.
    earlier = Refund.objects.filter(case_id=case.pk).count()
    request_refund(
        order=case.order,
        case=case,
        source=source,
        amount=amount,
        idempotency_key=f"{case.number}:refund" + (f":{earlier + 1}" if earlier else ""),
        requested_by=requested_by,
    )


def refund_due(request: ReturnRequest) -> Decimal:
    """What the shop owes once inspected: the estimate less deductions after a pass, nothing after
    a failed inspection (R-RET-11) or for a request that ended without the goods changing hands, and
    less the price-protection compensation of the returned units where it cannot be cancelled (R-PP-6)."""
    if request.case.status in selectors.RELEASED_STATUSES:  # inspection_failed among them
        return Decimal("0.00")
    taken_back = price_protection_selectors.deducted_for_return(request.case)  # R-PP-6
    return max(request.refund_estimate - request.deductions - taken_back, Decimal("0.00"))


@transaction.atomic
def refund_paid(*, refund: Refund) -> None:
    """Finance paid a return's or refund-only request's refund: the case is completed. Registered
    with `aftersales.finance` at start-up; repeating it changes nothing."""
    if refund.case_id is None:
        return
    case = lock_one(Case, refund.case_id)
    if case.status != "refund_pending":
        return
    case_services.transition(
        case=case, name="complete", note=_("Your refund of %(amount)s was paid.") % {"amount": refund.amount}
    )


@transaction.atomic
def refund_rejected(*, refund: Refund) -> None:
    """Finance rejected a case's refund (R-FIN-3): a return or refund-only case waiting for it goes
    back to an agent; an exchange's difference refund is noted on its case. Finance's reason stays
    internal; the customer is told the shop will contact them. Registered with `aftersales.finance`."""
    if refund.case_id is None:
        return
    case = lock_one(Case, refund.case_id)
    internal = _("Finance rejected the refund of %(amount)s: %(reason)s") % {
        "amount": refund.amount,
        "reason": refund.reason,
    }
    case_services.add_note(case=case, actor=None, note=internal, public=False)
    if case.status == "refund_pending":
        case_services.transition(
            case=case,
            name="refund_refused",
            note=_("Your refund needs another look; the shop will contact you."),
        )


@transaction.atomic
def requeue_refund(*, case: Case, actor, amount: Decimal, note: str = "") -> Case:
    """After finance rejected the refund, an agent queues it again, at most what is still due."""
    _may(case=case, name="requeue_refund", actor=actor)
    due = refund_due(_request_for(case))
    if amount is None or not amount.is_finite() or amount <= 0:
        raise ValidationFailed(fields={"amount": [_("A refund must be more than zero.")]})
    if amount > due:
        raise ValidationFailed(fields={"amount": [_("At most %(due)s is due on this request.") % {"due": due}]})
    _queue_refund(case=case, amount=amount, requested_by=actor)
    message = _("Your refund of %(amount)s is queued for payment.") % {"amount": amount}
    return case_services.transition(
        case=case, name="requeue_refund", actor=actor, note=message + (f"\n{note.strip()}" if note.strip() else "")
    )


@transaction.atomic
def close_without_refund(*, case: Case, actor, reason_text: str) -> Case:
    """After finance rejected a refund-only request's refund, an agent closes it without one, telling
    the customer why (a return's goods are sent back instead: `send_back`)."""
    _may(case=case, name="close_without_refund", actor=actor)
    reason_text = (reason_text or "").strip()
    if not reason_text:
        raise ValidationFailed(fields={"reason": [_("Tell the customer why no refund is paid.")]})
    return case_services.transition(case=case, name="close_without_refund", actor=actor, note=reason_text)


# --- The replacement (exchange, reissue) -------------------------------------------------------------


@transaction.atomic
def record_difference_paid(*, case: Case, actor, reference: str = "", now: datetime | None = None) -> Case:
    """R-RET-5: the customer paid the exchange's price difference (taken by the storefront or by
    hand); the replacement may ship."""
    now = now or timezone.now()
    if actor is not None and not actor.has_perm("cases.change_case"):
        raise NotAllowed()
    locked = lock_one(Case, case.pk)
    request = _request_for(locked)
    if request.amount_due <= 0 or locked.closed_at is not None:
        raise InvalidTransition(_("Nothing is due on this request."))
    if request.amount_due_paid_at is not None:
        return locked
    request.amount_due_paid_at = now
    request.save(update_fields=["amount_due_paid_at"])
    reference = (reference or "").strip()[:200]
    case_services.add_note(
        case=locked,
        actor=actor,
        note=_("Payment of the price difference (%(amount)s) received.") % {"amount": request.amount_due}
        + (f" {reference}" if reference else ""),
        public=True,
    )
    return locked


def difference_unpaid(request: ReturnRequest) -> bool:
    """R-RET-5: the customer owes the exchange's price difference and has not paid it yet."""
    return request.amount_due > 0 and request.amount_due_paid_at is None


@transaction.atomic
def ship_replacement(*, case: Case, actor, carrier: str, tracking_number: str, now: datetime | None = None) -> Case:
    """R-RET-5/14: the replacement (exchange, after a passed inspection and once any price
    difference is paid) or the missing items (reissue) ship; the case completes when the customer
    confirms receipt, or by itself `receipt_confirm_days` later."""
    now = now or timezone.now()
    _may(case=case, name="ship_replacement", actor=actor)
    request = _request_for(case)
    if difference_unpaid(request):
        raise PolicyRefused(
            _("The customer has not paid the price difference (%(amount)s) yet.") % {"amount": request.amount_due},
            rule="R-RET-5",
        )
    carrier, tracking_number = shipment(carrier, tracking_number)
    _record_outbound(case, carrier, tracking_number, now)
    days = selectors.shop_policy().receipt_confirm_days
    return case_services.transition(
        case=case,
        name="ship_replacement",
        actor=actor,
        note=_("Shipped to you with %(carrier)s, tracking number %(number)s. Please confirm when it arrives.")
        % {"carrier": carrier, "number": tracking_number},
        deadline_at=window_end(now, days),
        deadline_action=CONFIRM_RECEIPT,
    )


@transaction.atomic
def confirm_receipt(*, case: Case, actor) -> Case:
    """The customer received the replacement (actor None: the confirmation days passed)."""
    if actor is None:
        return case_services.transition(case=case, name="complete", note=_("Completed: the replacement was delivered."))
    return case_services.transition(
        case=case, name="confirm_receipt", actor=actor, note=_("The customer confirmed receipt.")
    )
