"""Submitting a return / exchange / reissue / refund-only request (DOMAIN §2). Rules live in
`returns.policy`; facts come from `returns.selectors`."""

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.cases import services as case_services
from aftersales.cases.attachments import add_attachment
from aftersales.cases.models import Case
from aftersales.common.errors import NotAllowed, PolicyRefused, ValidationFailed
from aftersales.common.locks import lock_one
from aftersales.orders.models import Order, OrderLine, Product

from .. import policy, selectors
from ..models import ReturnLine, ReturnRequest
from ..policy import Kind, Reason
from .steps import approve

# Kinds whose request pays money back; an exchange or a reissue sends goods instead (an exchange
# for a cheaper variant refunds the difference, R-RET-5).
REFUNDING_KINDS = frozenset({Kind.RETURN, Kind.REFUND_ONLY})
# R-RET-14: a reissue is granted after staff checked the order and the logistics record, so it is
# never approved automatically, whatever its (zero) refund estimate.
NEVER_AUTO_APPROVED = frozenset({Kind.REISSUE})


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
    report=None,
    report_valid_until: date | None = None,
    now: datetime | None = None,
) -> Case:
    """Open a return / exchange / reissue / refund-only case for some units of `order`.

    `lines` is [{"line": OrderLine, "quantity": int}]; `photos` are uploaded files (R-RET-8), stored
    as the case's attachments in this same transaction; `report` is the photo of an appliance's
    service-centre inspection report, valid until `report_valid_until` (R-RET-8). The order row is
    locked first, so two submissions racing for the same units are serialised and the second one
    sees the first's units as requested (R-RET-13). Requests under the auto-approve limit that need
    no photo check are approved at once (R-RET-15)."""
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

    locked = lock_one(Order, order.pk)  # serialises submissions on this order until commit
    requested, open_reasons = selectors.line_requests(order)  # read after the lock: includes a racing winner
    shop = selectors.shop_policy()
    customer_facts = selectors.customer_facts(customer, now=now)
    order_lines = {line.pk: line for line in selectors.policy_lines(locked)}  # milestones as locked

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
    photos_required = report_required = False
    for pk, quantity in wanted.items():
        line, index = order_lines[pk], positions[pk]
        facts = selectors.line_facts(line, requested=requested.get(pk, 0), reasons=open_reasons.get(pk, frozenset()))
        judged = facts
        if line.gift_of_id in wanted:  # the gift goes back with its main line: that line's verdict
            main = line.gift_of_id
            judged = selectors.line_facts(
                order_lines[main], requested=requested.get(main, 0), reasons=open_reasons.get(main, frozenset())
            )
        verdict = policy.line_verdict(judged, now=now, shop=shop, customer=customer_facts)
        refusal = verdict.refusal(kind, reason)
        if refusal is not None:
            raise PolicyRefused(refusal.message, rule=refusal.rule)
        option = verdict.option(kind, reason)
        if option is None:
            raise ValidationFailed(fields={"reason": [_("This reason does not go with this kind of request.")]})
        photos_required = photos_required or option.photos_required
        report_required = report_required or option.report_required
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
    if report_required:
        _check_report(report=report, valid_until=report_valid_until, now=now)
    elif report is not None or report_valid_until is not None:
        raise ValidationFailed(fields={"report": [_("Only an appliance's quality claim takes an inspection report.")]})

    estimate = _refund_estimate(order=order, kind=kind, order_lines=order_lines, wanted=wanted, requested=requested)
    amount_due = Decimal("0.00")
    if kind == Kind.EXCHANGE:
        estimate, amount_due = _exchange_money(
            order=order, order_lines=order_lines, wanted=wanted, requested=requested, replacement=exchange_product
        )
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
        amount_due=amount_due,
        report_valid_until=report_valid_until if report_required else None,
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
        if report is not None and report_required:
            try:
                stored.append(add_attachment(case=case, uploaded_by=customer, upload=report))
            except ValidationFailed as exc:
                raise ValidationFailed(
                    exc.message, fields={"report": [m for msgs in exc.fields.values() for m in msgs]}
                ) from None
            request.report = stored[-1]
            request.save(update_fields=["report"])

        if (
            kind not in NEVER_AUTO_APPROVED
            and not photos_required  # damage, quality, wrong item: staff look at the photos first
            and not amount_due  # staff confirm what the customer is to pay first
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


def _check_report(*, report, valid_until: date | None, now: datetime) -> None:
    """R-RET-8: the report is there and still valid today."""
    errors = {}
    if report is None:
        errors["report"] = [_("Add a photo of the service centre's inspection report.")]
    if valid_until is None:
        errors["report_valid_until"] = [_("Enter the date until which the report is valid.")]
    if errors:
        raise PolicyRefused(
            _("A quality claim for this appliance needs a manufacturer service centre's inspection report."),
            rule="R-RET-8",
            fields=errors,
        )
    if valid_until < timezone.localdate(now):
        raise PolicyRefused(
            _("The inspection report is no longer valid; please get a new one."),
            rule="R-RET-8",
            fields={"report_valid_until": [_("This date has passed.")]},
        )


def _goods_value(order_lines, wanted, requested) -> Decimal:
    """What was paid for the wanted units, after apportioned discounts (R-RET-13)."""
    return sum(
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


def _remaining_refundable(order: Order) -> Decimal:
    """What the order can still refund, counting the estimates of its live requests."""
    already = (
        ReturnRequest.objects.filter(case__order=order)
        .exclude(case__status__in=selectors.RELEASED_STATUSES)
        .aggregate(total=Sum("refund_estimate"))["total"]
    ) or Decimal("0.00")
    return order.paid_total - already


def _exchange_money(*, order, order_lines, wanted, requested, replacement: Product) -> tuple[Decimal, Decimal]:
    """R-RET-5: (refund estimate, amount due) of an exchange. The replacement must be the same
    product or another variant of the same model; the same product costs nothing, another variant
    costs its regular price less what was paid for the units it replaces."""
    mains = {pk: qty for pk, qty in wanted.items() if order_lines[pk].gift_of_id is None}
    for pk in mains:
        product = order_lines[pk].product
        same_model = bool(product.model_code) and product.model_code == replacement.model_code
        if replacement.pk != product.pk and not same_model:
            raise PolicyRefused(
                _("An exchange is for the same product or another variant of the same model."),
                rule="R-RET-5",
                fields={"exchange_sku": [_("Choose a variant of the same model.")]},
            )
    if all(order_lines[pk].product_id == replacement.pk for pk in mains):
        return Decimal("0.00"), Decimal("0.00")
    difference = policy.exchange_difference(
        paid_for_units=_goods_value(order_lines, mains, requested),
        replacement_unit_price=replacement.price,
        units=sum(mains.values()),
    )
    if difference >= 0:
        return Decimal("0.00"), difference
    return policy.refund_amount(goods=-difference, remaining=_remaining_refundable(order)), Decimal("0.00")


def _refund_estimate(*, order, kind, order_lines, wanted, requested) -> Decimal:
    """R-RET-13: what was paid for these units, less gifts owed back that do not come back, never
    above what the order still has to refund."""
    if kind not in REFUNDING_KINDS:
        return Decimal("0.00")
    goods = _goods_value(order_lines, wanted, requested)
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
    return policy.refund_amount(goods=goods, missing_gift_value=missing, remaining=_remaining_refundable(order))


def _gifts_owed(main: OrderLine, gift: OrderLine, main_units: int, gift_units: int) -> Decimal:
    return policy.missing_gift_value(
        gift_unit_value=gift.unit_price,
        gift_quantity=gift.quantity,
        main_quantity=main.quantity,
        main_returning=main_units,
        gifts_returning=gift_units,
    )
