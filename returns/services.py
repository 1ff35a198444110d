"""Every write on a return request (DOMAIN §2): submit, approve, reject, cancel, tracking, receive,
inspect. Rules live in `returns.policy`; facts come from `returns.selectors`; status changes go
through `aftersales.cases.services.transition` (which checks who may do what). Every function takes
keyword arguments only and runs in one transaction.
"""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.cases import services as case_services
from aftersales.cases.attachments import add_attachment
from aftersales.cases.calendar import add_business_days
from aftersales.cases.models import Case
from aftersales.common.errors import InvalidTransition, NotAllowed, PolicyRefused, ValidationFailed
from aftersales.common.locks import lock_one
from aftersales.finance.models import Refund
from aftersales.finance.services import request_refund
from aftersales.orders.guarantees import end_of_local_day, window_end
from aftersales.orders.models import Order, OrderLine

from . import policy, selectors
from .models import ReturnLine, ReturnRequest
from .policy import Kind, Reason

# Kinds whose request pays money back; an exchange or a reissue sends goods instead.
REFUNDING_KINDS = frozenset({Kind.RETURN, Kind.REFUND_ONLY})
# R-RET-14: a reissue is granted after staff checked the order and the logistics record, so it is
# never approved automatically, whatever its (zero) refund estimate.
NEVER_AUTO_APPROVED = frozenset({Kind.REISSUE})
SHIP_DEADLINE_ACTION = "expire_unshipped"
INSPECTION_DEADLINE_ACTION = "inspection_overdue"


# --- Submitting ----------------------------------------------------------------------------------


def resolve_lines(*, order: Order, items: Iterable[dict]) -> list[dict]:
    """API input [{"line_id", "quantity"}] → [{"line": OrderLine, "quantity"}] for `submit_request`;
    an id that is not a line of `order` is a field error on `lines.N.line_id`."""
    by_id = {line.pk: line for line in order.lines.all()}
    resolved, errors = [], {}
    for index, item in enumerate(items):
        line = by_id.get(item.get("line_id"))
        if line is None:
            errors[f"lines.{index}.line_id"] = [_("This order has no such line.")]
        resolved.append({"line": line, "quantity": item.get("quantity")})
    if errors:
        raise ValidationFailed(fields=errors)
    return resolved


@transaction.atomic
def submit_request(
    *,
    customer,
    order: Order,
    kind: str,
    reason: str,
    lines: list[dict],
    condition: dict | None = None,
    description: str = "",
    exchange_product=None,
    photos: Iterable = (),
    now: datetime | None = None,
) -> Case:
    """Open a return / exchange / reissue / refund-only case for some units of `order`.

    `lines` is [{"line": OrderLine, "quantity": int}]; `photos` are uploaded files (R-RET-8), stored
    as the case's attachments in this same transaction. The order row is locked first, so two
    submissions racing for the same units are serialised and the second one sees the first's units
    as requested (R-RET-13). Requests under the auto-approve limit that need no photo check are
    approved at once (R-RET-15)."""
    now = now or timezone.now()
    condition = dict(condition or {})
    photos = list(photos)
    if order.customer_id != customer.pk:
        raise NotAllowed()
    if kind not in Kind.values:
        raise ValidationFailed(fields={"kind": [_("Unknown kind of request.")]})
    if reason not in Reason.values:
        raise ValidationFailed(fields={"reason": [_("Unknown reason.")]})
    if not lines:
        raise ValidationFailed(_("Choose at least one item."), fields={"lines": [_("Choose at least one item.")]})
    if kind == Kind.EXCHANGE and exchange_product is None:
        raise ValidationFailed(fields={"exchange_sku": [_("Choose the product you want instead.")]})
    if kind != Kind.EXCHANGE and exchange_product is not None:
        raise ValidationFailed(fields={"exchange_sku": [_("Only an exchange names a replacement product.")]})
    if exchange_product is not None and not exchange_product.active:
        raise ValidationFailed(fields={"exchange_sku": [_("This product is no longer sold.")]})
    if len(photos) > settings.ATTACHMENT_MAX_PER_CASE:
        raise ValidationFailed(
            fields={"photos": [_("At most %(n)d photos.") % {"n": settings.ATTACHMENT_MAX_PER_CASE}]}
        )

    lock_one(Order, order.pk)  # serialises submissions on this order until commit
    requested = selectors.requested_quantities(order)  # read after the lock: includes a racing winner
    shop = selectors.shop_policy()
    customer_facts = selectors.customer_facts(customer, now=now)
    order_lines = {
        line.pk: line
        for line in OrderLine.objects.filter(order=order).select_related(
            "order", "product__category", "product__brand", "gift_of__product__category", "gift_of__product__brand"
        )
    }

    # Shape of the lines: each once, of this order, with a positive quantity.
    wanted: dict[int, int] = {}
    positions: dict[int, int] = {}
    for index, item in enumerate(lines):
        line, quantity = item.get("line"), item.get("quantity")
        if line is None or line.pk not in order_lines:
            raise ValidationFailed(fields={f"lines.{index}.line_id": [_("This order has no such line.")]})
        if line.pk in wanted:
            raise ValidationFailed(fields={f"lines.{index}.line_id": [_("Each item may be listed once.")]})
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise ValidationFailed(fields={f"lines.{index}.quantity": [_("Enter a quantity of at least 1.")]})
        wanted[line.pk], positions[line.pk] = quantity, index

    # The policy, line by line (a gift goes with its main line and follows that line's verdict).
    photos_required = False
    for pk, quantity in wanted.items():
        line, index = order_lines[pk], positions[pk]
        facts = selectors.line_facts(line, requested=requested.get(pk, 0))
        judged = facts
        if line.gift_of_id in wanted:  # the gift goes back with its main line: that line's verdict
            judged = selectors.line_facts(order_lines[line.gift_of_id], requested=requested.get(line.gift_of_id, 0))
        verdict = policy.line_verdict(judged, now=now, shop=shop, customer=customer_facts)
        refusal = verdict.refusal(kind, reason)
        if refusal is not None:
            raise PolicyRefused(refusal.message, rule=refusal.rule)
        option = verdict.option(kind, reason)
        if option is None:
            raise ValidationFailed(fields={"reason": [_("This reason does not go with this kind of request.")]})
        photos_required = photos_required or option.photos_required
        if quantity > facts.returnable_quantity:
            raise ValidationFailed(
                fields={
                    f"lines.{index}.quantity": [
                        _("At most %(n)d can still be returned.") % {"n": facts.returnable_quantity}
                    ]
                }
            )
        if kind == Kind.RETURN and reason == Reason.NO_REASON:
            refusal = policy.check_condition(facts, condition)  # R-RET-6
            if refusal is not None:
                raise PolicyRefused(refusal.message, rule=refusal.rule)

    if photos_required and not photos:  # R-RET-8
        raise PolicyRefused(
            _("Please add at least one photo showing the problem; we need it to check your request."),
            rule="R-RET-8",
        )

    estimate = _refund_estimate(order=order, kind=kind, order_lines=order_lines, wanted=wanted, requested=requested)
    paid_by = policy.return_shipping_paid_by(reason, customer_facts, shop)

    case = case_services.open_case(
        kind=kind,
        customer=customer,
        order=order,
        subject=_("%(kind)s: %(reason)s, order %(order)s")
        % {"kind": Kind(kind).label, "reason": Reason(reason).label, "order": order.number},
        actor=customer,
        note=description,
        data={"reason": reason, "lines": {str(pk): qty for pk, qty in wanted.items()}},
    )
    request = ReturnRequest.objects.create(
        case=case,
        reason=reason,
        description=description,
        condition=condition,
        exchange_product=exchange_product,
        return_shipping_paid_by=paid_by,
        refund_estimate=estimate,
    )
    ReturnLine.objects.bulk_create(
        [ReturnLine(request=request, order_line_id=pk, quantity=qty) for pk, qty in wanted.items()]
    )

    stored = []
    try:
        for index, upload in enumerate(photos):
            try:
                stored.append(add_attachment(case=case, uploaded_by=customer, upload=upload))
            except ValidationFailed as exc:
                raise ValidationFailed(
                    exc.message, fields={f"photos.{index}": [m for msgs in exc.fields.values() for m in msgs]}
                ) from None

        if (
            kind not in NEVER_AUTO_APPROVED
            and not photos_required  # damage, quality, wrong item: staff look at the photos first
            and policy.auto_approvable(estimate=estimate, shop=shop)
        ):
            approve(case=case, actor=None, note=_("Approved automatically."), now=now)
            request.auto_approved = True
            request.save(update_fields=["auto_approved"])
    except Exception:
        for attachment in stored:  # the rows roll back; the files would stay behind
            attachment.file.delete(save=False)
        raise
    return case


def _refund_estimate(*, order, kind, order_lines, wanted, requested) -> Decimal:
    """R-RET-13: what was paid for these units, less gifts owed back that do not come back, never
    above what the order still has to refund."""
    if kind not in REFUNDING_KINDS:
        return Decimal("0.00")
    goods = sum(
        (
            policy.units_paid(
                order_lines[pk].paid_amount,
                order_lines[pk].quantity,
                already_returned=requested.get(pk, 0),
                returning=qty,
            )
            for pk, qty in wanted.items()
        ),
        Decimal("0.00"),
    )
    missing = Decimal("0.00")
    for pk, qty in wanted.items():
        main = order_lines[pk]
        if main.gift_of_id is not None:
            continue
        for gift in (line for line in order_lines.values() if line.gift_of_id == main.pk):
            main_before, gifts_before = requested.get(main.pk, 0), requested.get(gift.pk, 0)
            # Counted cumulatively over the order's requests, so a gift is charged once only.
            missing += _gifts_owed(main, gift, main_before + qty, gifts_before + wanted.get(gift.pk, 0))
            missing -= _gifts_owed(main, gift, main_before, gifts_before)
    already = (
        ReturnRequest.objects.filter(case__order=order)
        .exclude(case__status__in=selectors.RELEASED_STATUSES)
        .aggregate(total=Sum("refund_estimate"))["total"]
    ) or Decimal("0.00")
    return policy.refund_amount(goods=goods, missing_gift_value=missing, remaining=order.paid_total - already)


def _gifts_owed(main: OrderLine, gift: OrderLine, main_units: int, gift_units: int) -> Decimal:
    return policy.missing_gift_value(
        gift_unit_value=gift.unit_price,
        gift_quantity=gift.quantity,
        main_quantity=main.quantity,
        main_returning=main_units,
        gifts_returning=gift_units,
    )


# --- Review and the customer's steps --------------------------------------------------------------


def _request_for(case: Case) -> ReturnRequest:
    return ReturnRequest.objects.get(case_id=case.pk)


def _may(*, case: Case, name: str, actor) -> None:
    """Permission and status first, so a caller without the right learns nothing from validation."""
    from aftersales.cases import workflow

    t = workflow.get(case.kind).transitions[name]
    case_services.check_allowed(case=case, transition=t, actor=actor)
    if case.status not in t.sources:
        raise InvalidTransition()


@transaction.atomic
def approve(*, case: Case, actor, note: str = "", now: datetime | None = None) -> Case:
    """R-RET-9/10: approved; the customer must ship by the end of the local day
    `ship_deadline_days` after approval, or the sweeper expires the request.

    Refund only has no parcel to wait for: approval queues the refund for finance at once. (A
    reissue still takes the parcel flow's step for now; its own steps come with shipping.)"""
    now = now or timezone.now()
    if case.kind == Kind.REFUND_ONLY:
        case = case_services.transition(case=case, name="approve", actor=actor, note=note)
        _queue_refund(case=case, amount=_request_for(case).refund_estimate, requested_by=actor)
        return case
    shop = selectors.shop_policy()
    return case_services.transition(
        case=case,
        name="approve",
        actor=actor,
        note=note,
        deadline_at=window_end(now, shop.ship_deadline_days),
        deadline_action=SHIP_DEADLINE_ACTION,
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
    """R-RET-9: the customer may cancel until the parcel is received."""
    return case_services.transition(case=case, name="cancel", actor=customer, note=_("Cancelled by the customer."))


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
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    errors = {}
    for field, value in (("carrier", carrier), ("tracking_number", tracking_number)):
        if not value:
            errors[field] = [_("This field is required.")]
        elif len(value) > 64:
            errors[field] = [_("At most 64 characters.")]
    if errors:
        raise ValidationFailed(fields=errors)
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
        deadline_at=end_of_local_day(due),
        deadline_action=INSPECTION_DEADLINE_ACTION,
    )
    ReturnRequest.objects.filter(case_id=case.pk).update(received_at=now)
    return case


@transaction.atomic
def inspect(*, case: Case, actor, passed: bool, notes: str = "", deductions: Decimal = Decimal("0.00")) -> Case:
    """R-RET-9/11: pass (refund the estimate less condition deductions) or fail (the goods go back
    at the customer's expense and nothing is refunded)."""
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
    case = case_services.transition(case=case, name=name, actor=actor, note=notes, data={"deductions": str(deductions)})
    request.inspection_notes = notes
    request.deductions = deductions if passed else Decimal("0.00")
    request.save(update_fields=["inspection_notes", "deductions"])
    if passed and case.kind == Kind.RETURN:
        _queue_refund(case=case, amount=refund_due(request), requested_by=actor)
    return case


def _queue_refund(*, case: Case, amount: Decimal, requested_by) -> None:
    """Hand the money to finance (R-FIN-1); one refund per case, whatever repeats."""
    if amount > 0:
        source = Refund.Source.REFUND_ONLY if case.kind == Kind.REFUND_ONLY else Refund.Source.RETURN
        request_refund(
            order=case.order,
            case=case,
            source=source,
            amount=amount,
            idempotency_key=f"{case.number}:refund",
            requested_by=requested_by,
        )


def refund_due(request: ReturnRequest) -> Decimal:
    """What the shop owes once inspected: the estimate less deductions after a pass, nothing after
    a failed inspection (R-RET-11) or for a request that ended without the goods changing hands."""
    if request.case.status in selectors.RELEASED_STATUSES:  # inspection_failed among them
        return Decimal("0.00")
    return max(request.refund_estimate - request.deductions, Decimal("0.00"))
