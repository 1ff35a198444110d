"""Every write of price protection: filing a claim (R-PP-1 … R-PP-5, R-PP-7), an agent's decision,
paying it (R-PP-3), taking it back when goods come back (R-PP-6) and the price-drop sweep.

Filing locks the order row first, so two simultaneous claims on one order run one after the other and
the second is refused (R-PP-5); the unique constraint on `Claim.order` is the backstop."""

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from aftersales.cases import services as case_services
from aftersales.cases.models import Case, CaseKind, Notification
from aftersales.cases.notifications import enqueue_emails_on_commit
from aftersales.common.errors import DomainError, NotAllowed, PolicyRefused, ValidationFailed
from aftersales.common.locks import lock_one
from aftersales.finance import ledger
from aftersales.finance.models import Coupon, Refund
from aftersales.finance.services import request_refund, revoke_refund
from aftersales.orders import webhooks
from aftersales.orders.models import Order, OrderLine, PriceChange, PriceKind

from . import policy, selectors
from .models import Claim, ClaimLine, PriceDropOffer, PriceProtectionSettings, Revocation
from .policy import Mode

CENT = policy.CENT


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


# --- Filing -------------------------------------------------------------------------------------------


@transaction.atomic
def file_claim(*, order: Order, actor, now: datetime | None = None, automatic: bool = False) -> Case:
    """Claim the price drops of every eligible line of `order` at once (R-PP-5: one claim per order).
    `actor` is the order's customer, or None when the sweep claims for them. Approved at once unless a
    drop looks like a pricing error (R-PP-7)."""
    now = now or timezone.now()
    order = lock_one(Order, order.pk)
    if actor is not None and actor.pk != order.customer_id:
        raise NotAllowed()
    verdict, entries = selectors.verdict(order, now)
    if verdict.refusal is not None:
        raise PolicyRefused(verdict.refusal.message, rule=verdict.refusal.rule)
    knobs = PriceProtectionSettings.current()
    review = verdict.needs_review(knobs.review_drop_above_percent)
    case = case_services.open_case(
        kind=CaseKind.PRICE_PROTECTION,
        customer=order.customer,
        order=order,
        subject=_("Price protection for order %(number)s") % {"number": order.number},
        actor=actor,
        note=_("Claimed %(amount)s for the price drop.") % {"amount": _money(verdict.amount)},
        data={"automatic": automatic},
    )
    try:
        with transaction.atomic():
            claim = Claim.objects.create(
                case=case,
                order=order,
                mode=verdict.mode,
                destination=knobs.destination if verdict.mode == Mode.CREDIT else "",
                amount=verdict.amount,
                suspected_pricing_error=review,
                largest_drop_percent=max(v.drop_percent for v in verdict.eligible_lines),
                automatic=automatic,
            )
    except IntegrityError:  # R-PP-5's constraint: a claim slipped in past the lock (never on one database)
        raise PolicyRefused(
            _("This order already has a price-protection claim; each order has one."), rule="R-PP-5"
        ) from None
    ClaimLine.objects.bulk_create(
        ClaimLine(
            claim=claim,
            order_line_id=v.line_id,
            units=v.units,
            paid_unit_price=v.paid_unit,
            basis_price=v.basis,
            basis=entries.get(v.line_id),
            amount=v.amount,
            drop_percent=v.drop_percent,
        )
        for v in verdict.eligible_lines
    )
    if review:
        case_services.add_note(
            case=case,
            actor=None,
            public=False,
            note=_("A price dropped by %(percent)s%%, more than %(limit)s%%: check it is not a pricing error.")
            % {"percent": claim.largest_drop_percent, "limit": knobs.review_drop_above_percent},
        )
        return case
    case = case_services.transition(
        case=case, name="auto_approve", note=_("Approved: the claim passed every rule."), notify_customer=False
    )
    return _pay(case=case, claim=claim, actor=None)


# --- An agent's decision (R-PP-7) ------------------------------------------------------------------------


def _claim(case: Case) -> Claim:
    return Claim.objects.select_related("order").get(case_id=case.pk)


@transaction.atomic
def approve(*, case: Case, actor, note: str = "") -> Case:
    """The drop is a real price cut, not a pricing error: pay the claim."""
    claim = lock_one(Claim, case.pk)
    case = case_services.transition(
        case=case, name="approve", actor=actor, note=note.strip() or _("Approved."), notify_customer=False
    )
    Claim.objects.filter(pk=claim.pk).update(decided_at=timezone.now(), decided_by=actor)
    return _pay(case=case, claim=_claim(case), actor=actor)


@transaction.atomic
def reject(*, case: Case, actor, reason_text: str) -> Case:
    reason_text = (reason_text or "").strip()
    if not reason_text:
        raise ValidationFailed(fields={"reason": [_("Tell the customer why.")]})
    lock_one(Claim, case.pk)
    case = case_services.transition(case=case, name="reject", actor=actor, note=reason_text)
    Claim.objects.filter(pk=case.pk).update(decided_at=timezone.now(), decided_by=actor)
    return case


# --- Paying (R-PP-3) --------------------------------------------------------------------------------------


def _pay(*, case: Case, claim: Claim, actor) -> Case:
    due = claim.amount - claim.revoked_amount  # units returned while the claim waited are not paid
    if due <= 0:
        return case_services.transition(case=case, name="revoke", note=_("The goods came back; nothing is due."))
    if claim.mode == Mode.REPRICE:
        return _reprice(case=case, claim=claim)
    refund = request_refund(
        order=claim.order,
        case=case,
        source=Refund.Source.PRICE_PROTECTION,
        amount=due,
        idempotency_key=f"{case.number}:compensation",
        requested_by=actor,
        destination=claim.destination,
    )
    Claim.objects.filter(pk=claim.pk).update(refund=refund)
    case.refresh_from_db()
    if case.status == "approved":  # not paid at once: finance approves it first
        case_services.add_note(
            case=case,
            actor=None,
            public=True,
            note=_("Your compensation of %(amount)s is approved and on its way.") % {"amount": _money(due)},
        )
    return case


def _reprice(*, case: Case, claim: Claim) -> Case:
    """R-PP-3: the order has not left the warehouse and is paid on delivery or pickup, so its lines are
    repriced (the compensation becomes part of each line's discount) and the storefront is told."""
    order = lock_one(Order, claim.order_id)
    lines = list(claim.lines.select_related("order_line"))
    for line in lines:
        OrderLine.objects.filter(pk=line.order_line_id).update(
            discount=F("discount") + line.amount, paid_amount=F("paid_amount") - line.amount
        )
    Order.objects.filter(pk=order.pk).update(
        discount_total=F("discount_total") + claim.amount,
        paid_total=F("paid_total") - claim.amount,
        updated_at=timezone.now(),
    )
    order.refresh_from_db()
    _tell_storefront(claim=claim, order=order)
    Claim.objects.filter(pk=claim.pk).update(compensated_at=timezone.now())
    return case_services.transition(
        case=case,
        name="compensate",
        note=_("Your order was repriced: you will pay %(total)s, %(amount)s less.")
        % {"total": _money(order.paid_total), "amount": _money(claim.amount)},
    )


def _tell_storefront(*, claim: Claim, order: Order) -> None:
    """The storefront owns the order, so it hears of the new line prices: an outbox row written in the
    repricing transaction (nothing is lost if a worker dies), sent signed and retried after commit."""
    if order.storefront_id is None:
        return
    webhooks.queue_webhook(
        storefront=order.storefront,
        event="order.repriced",
        key=f"{claim.case.number}:repriced",
        payload={
            "order": order.number,
            "reason": "price_protection",
            "claim": claim.case.number,
            "paid_total": _money(order.paid_total),
            "discount_total": _money(order.discount_total),
            "lines": [
                {
                    "line_no": line.order_line.line_no,
                    "sku": line.order_line.product.sku,
                    "discount": _money(line.order_line.discount),
                    "paid_amount": _money(line.order_line.paid_amount),
                    "price_protection": _money(line.amount),
                }
                for line in claim.lines.select_related("order_line__product")
            ],
        },
    )


@transaction.atomic
def refund_paid(*, refund: Refund) -> None:
    """Finance paid the compensation (a coupon, balance or points are paid in the approving
    transaction). Registered with `aftersales.finance`; repeating it changes nothing."""
    case = lock_one(Case, refund.case_id)
    if case.status != "approved":
        return
    coupon = Coupon.objects.filter(refund=refund).first()
    Claim.objects.filter(pk=case.pk).update(compensated_at=timezone.now(), coupon=coupon, refund=refund)
    if coupon is not None:
        note = _("%(amount)s was credited to your account as coupon %(code)s, valid until %(date)s.") % {
            "amount": _money(refund.amount),
            "code": coupon.code,
            "date": timezone.localdate(coupon.expires_at).isoformat(),
        }
    else:
        note = _("%(amount)s was paid as %(destination)s.") % {
            "amount": _money(refund.amount),
            "destination": refund.get_destination_display(),
        }
    case_services.transition(case=case, name="compensate", note=note)


@transaction.atomic
def refund_rejected(*, refund: Refund) -> None:
    """Finance refused the compensation: the claim is rejected, with finance's reason kept internal."""
    case = lock_one(Case, refund.case_id)
    if case.status != "approved":
        return
    case_services.add_note(
        case=case,
        actor=None,
        public=False,
        note=_("Finance rejected the compensation: %(reason)s") % {"reason": refund.reason},
    )
    case_services.transition(
        case=case, name="refund_rejected", note=_("Your compensation could not be paid; the shop will contact you.")
    )


# --- Revocation (R-PP-6) --------------------------------------------------------------------------------


def _share(amount: Decimal, units: int, of: int) -> Decimal:
    return (amount * units / of).quantize(CENT, rounding=ROUND_HALF_UP)


def _take_back_lines(claim: Claim, units_by_line: dict[int, int]) -> Decimal:
    """Book `units_by_line` as revoked on the claim's lines; returns the compensation they had. Shares
    are cumulative, so a line revoked in parts gives back exactly its amount in the end."""
    total = Decimal("0.00")
    for line in claim.lines.select_for_update(of=("self",)).order_by("pk"):
        units = min(units_by_line.get(line.order_line_id, 0), line.units - line.revoked_units)
        if units <= 0:
            continue
        part = _share(line.amount, line.revoked_units + units, line.units) - line.revoked_amount
        ClaimLine.objects.filter(pk=line.pk).update(
            revoked_units=F("revoked_units") + units, revoked_amount=F("revoked_amount") + part
        )
        total += part
    return total


def _recover(*, claim: Claim, amount: Decimal, can_deduct: bool, note: str) -> dict[str, Decimal]:
    """Recover `amount` of the compensation the cheapest way for everyone: nothing if it was never paid
    out; an unused coupon is cancelled (and its remainder reissued); otherwise it is deducted from the
    return's refund. With no refund to deduct from (a refused order) a credited balance or points are
    debited, and what cannot be is left for staff to recover."""
    parts = dict.fromkeys(
        ("by_cancelling_coupon", "deducted_from_refund", "taken_from_account", "not_paid_out", "unrecovered"),
        Decimal("0.00"),
    )
    refund = lock_one(Refund, claim.refund_id) if claim.refund_id else None
    if claim.mode == Mode.REPRICE or refund is None or refund.state == Refund.State.REJECTED:
        parts["not_paid_out"] = amount  # repriced: the returned lines' own refund is already lower
        return parts
    paid = refund.state in (Refund.State.SUCCEEDED, Refund.State.RESOLVED)
    coupon = lock_one(Coupon, claim.coupon_id) if claim.coupon_id else None
    if paid and coupon is not None and coupon.state == Coupon.State.ISSUED:
        ledger.cancel_coupon(coupon=coupon, actor=None, note=note)
        revoke_refund(refund=refund, amount=amount, note=note)
        remainder = coupon.amount - amount
        if remainder > 0:
            expires_at = max(coupon.expires_at, timezone.now() + timedelta(days=1))
            new = ledger.issue_coupon(customer=claim.order.customer, amount=remainder, expires_at=expires_at, note=note)
            Claim.objects.filter(pk=claim.pk).update(coupon=new)
        parts["by_cancelling_coupon"] = amount
    elif can_deduct:
        parts["deducted_from_refund"] = amount
    elif paid and _take_from_account(claim=claim, refund=refund, amount=amount, note=note):
        parts["taken_from_account"] = amount
    else:
        parts["unrecovered"] = amount
    return parts


def _take_from_account(*, claim: Claim, refund: Refund, amount: Decimal, note: str) -> bool:
    customer, kind = claim.order.customer, ledger.LedgerKind.REVOCATION
    try:
        with transaction.atomic():
            if refund.destination == Refund.Destination.BALANCE:
                ledger.debit_balance(customer=customer, amount=amount, kind=kind, refund=refund, note=note)
            elif refund.destination == Refund.Destination.POINTS:
                points = int(amount * settings.REFUND_POINTS_PER_CURRENCY_UNIT)
                ledger.debit_points(customer=customer, points=points, kind=kind, refund=refund, note=note)
            else:
                return False
    except ValidationFailed:  # spent already: staff recover it by hand
        return False
    return True


def _revoke(*, claim: Claim, units_by_line: dict[int, int], cause: str, return_case: Case | None) -> Revocation | None:
    existing = Revocation.objects.filter(claim=claim, cause=cause, return_case=return_case).first()
    if existing is not None:
        return existing
    amount = _take_back_lines(claim, units_by_line)
    if amount <= 0:
        return None
    note = _("Price protection %(claim)s taken back: the goods came back.") % {"claim": claim.case.number}
    parts = _recover(claim=claim, amount=amount, can_deduct=return_case is not None, note=note)
    revocation = Revocation.objects.create(claim=claim, cause=cause, return_case=return_case, amount=amount, **parts)
    Claim.objects.filter(pk=claim.pk).update(revoked_amount=F("revoked_amount") + amount)
    claim.refresh_from_db()
    case = claim.case
    message = _("%(amount)s of your price-protection compensation was taken back because the goods came back.") % {
        "amount": _money(amount)
    }
    if parts["deducted_from_refund"]:
        message += " " + _("It is deducted from your refund.")
    if claim.revoked_amount >= claim.amount and case.status in ("submitted", "approved", "compensated"):
        case_services.transition(case=case, name="revoke", note=message)
    else:
        case_services.add_note(case=case, actor=None, public=True, note=message)
    return revocation


@transaction.atomic
def revoke_for_return(*, case: Case) -> Decimal:
    """Called by the returns app when a return or refund-only request is accepted for its money: the
    compensation of its units is taken back (R-PP-6). Returns what must be deducted from its refund.
    Idempotent: a repeated call for the same request changes nothing and returns the same amount."""
    from returns.models import ReturnLine

    if case.kind not in selectors.REFUNDING_KINDS or case.order_id is None:
        return Decimal("0.00")
    claim = Claim.objects.filter(order_id=case.order_id).select_related("case", "order__customer").first()
    if claim is None:
        return Decimal("0.00")
    claim = lock_one(Claim, claim.pk)
    units: dict[int, int] = {}
    for line_id, quantity in ReturnLine.objects.filter(request__case=case).values_list("order_line_id", "quantity"):
        units[line_id] = units.get(line_id, 0) + quantity
    revocation = _revoke(claim=claim, units_by_line=units, cause=Revocation.Cause.RETURN, return_case=case)
    return revocation.deducted_from_refund if revocation else Decimal("0.00")


@transaction.atomic
def revoke_for_cancelled_order(*, order: Order) -> Revocation | None:
    """The order was refused on delivery or cancelled: all of its compensation is taken back (R-PP-6).
    Registered with the orders app; idempotent."""
    claim = Claim.objects.filter(order=order).first()
    if claim is None:
        return None
    claim = lock_one(Claim, claim.pk)
    units = dict(claim.lines.values_list("order_line_id", "units"))
    return _revoke(claim=claim, units_by_line=units, cause=Revocation.Cause.ORDER_CANCELLED, return_case=None)


# --- The price-drop sweep -----------------------------------------------------------------------------

SWEEP_BATCH = 1000


def on_price_changed(*, entry: PriceChange, **_kwargs) -> None:
    """Receiver of `orders.signals.price_changed`: a regular price already in effect is swept after
    commit; a future-dated one by `sweep_prices_taking_effect` once it takes effect."""
    if entry.kind != PriceKind.REGULAR or entry.effective_at > timezone.now():
        return
    from .tasks import sweep_price_drop

    transaction.on_commit(lambda: sweep_price_drop.delay(entry.pk))


def sweep_prices_taking_effect(*, since: datetime, now: datetime | None = None) -> int:
    """Periodic: sweep the regular prices recorded ahead of time that took effect since `since` (the
    beat runs it with an overlap; a sweep run twice tells nobody twice)."""
    now = now or timezone.now()
    entries = PriceChange.objects.filter(
        kind=PriceKind.REGULAR, effective_at__gt=since, effective_at__lte=now, recorded_at__lt=F("effective_at")
    ).values_list("pk", flat=True)
    return sum(sweep_price_drop(entry_id=pk, now=now) for pk in entries)


def on_order_cancelled(*, order: Order, **_kwargs) -> None:
    """Receiver of `orders.signals.order_cancelled` (inside the cancelling transaction)."""
    revoke_for_cancelled_order(order=order)


def sweep_price_drop(*, entry_id: int, now: datetime | None = None, batch_size: int = SWEEP_BATCH) -> int:
    """Tell every customer whose order a regular-price drop reaches, with a one-click claim link (or
    claim for them, if the shop says so). Streams the orders in batches of `batch_size` by order id,
    each batch committed on its own, so 100,000 orders never sit in memory and a re-run (a retried
    task) tells nobody twice. Returns how many orders were told or claimed for."""
    now = now or timezone.now()
    entry = PriceChange.objects.select_related("product__category").filter(pk=entry_id).first()
    if entry is None or entry.kind != PriceKind.REGULAR or entry.effective_at > now:
        return 0
    _basis, current = selectors.basis_of(entry.product, now)
    if current is None or current.pk != entry.pk:  # superseded: the newer entry's sweep does the work
        return 0
    knobs = PriceProtectionSettings.current()
    if not (knobs.notify_on_price_drop or knobs.claim_automatically):
        return 0
    orders = (
        selectors.lines_gaining(entry.product, entry.price, now)
        .values("order_id")
        .annotate(gain=Sum(F("paid_amount") - F("quantity") * entry.price))
        .order_by("order_id")
    )
    told = PriceDropOffer.objects.filter(price_change=entry, order_id=OuterRef("order_id"))
    reached, last = 0, 0
    while True:
        # Each table is bounded by `> last` on its own: PostgreSQL carries the lines' bound neither
        # across the join to the orders nor into the offers' subquery, so each batch would read every
        # order told before it, and 100,000 orders would cost 100 full reads (bench/price_drop.py).
        after = orders.filter(order_id__gt=last, order__in=Order.objects.filter(pk__gt=last))
        after = after.exclude(Exists(told.filter(order_id__gt=last)))
        batch = list(after.values_list("order_id", "gain")[:batch_size])
        if not batch:
            return reached
        last = batch[-1][0]
        if knobs.claim_automatically:
            reached += _claim_for_customers([order_id for order_id, _gain in batch], now)
        else:
            reached += _offer(entry, batch)


def _claim_for_customers(order_ids: list[int], now: datetime) -> int:
    claimed = 0
    for order in Order.objects.filter(pk__in=order_ids).order_by("pk"):
        try:
            file_claim(order=order, actor=None, now=now, automatic=True)
        except DomainError:  # the policy found nothing to claim after all (returned units, …)
            continue
        claimed += 1
    return claimed


@transaction.atomic
def _offer(entry: PriceChange, batch: list[tuple[int, Decimal]]) -> int:
    """One batch: the offers (the unique row per order and entry makes a re-run a no-op) and the
    customers' notifications, rendered once per language, e-mailed after commit."""
    gains = {order_id: Decimal(gain).quantize(CENT) for order_id, gain in batch}
    offers = PriceDropOffer.objects.bulk_create(
        [
            PriceDropOffer(order_id=order_id, price_change=entry, amount=gain)
            for order_id, gain in gains.items()
            if gain > 0
        ],
        ignore_conflicts=True,
    )
    if not offers:
        return 0
    rows = Order.objects.filter(pk__in=gains).values_list("pk", "number", "customer_id", "customer__preferred_language")
    texts: dict[str, tuple[str, str]] = {}
    notifications = []
    for order_id, number, customer_id, language in rows:
        language = language or settings.LANGUAGE_CODE
        if language not in texts:
            with translation.override(language):
                texts[language] = (
                    _("Price drop on order %(number)s: claim %(amount)s"),
                    _("%(product)s now costs %(price)s. Claim the difference in one click: %(url)s"),
                )
        title, body = texts[language]
        url = settings.PORTAL_URL + reverse("priceprotect:order", args=[number])
        values = {"number": number, "amount": _money(gains[order_id]), "product": entry.product.name}
        notifications.append(
            Notification(
                user_id=customer_id,
                title=(title % values)[:200],
                body=body % {**values, "price": _money(entry.price), "url": url},
            )
        )
    created = Notification.objects.bulk_create(notifications)
    enqueue_emails_on_commit([n.pk for n in created])
    return len(notifications)
