"""The return policy engine (DOMAIN §2): pure functions, no database access.

Given the facts about one order line (its order's milestones, its product's category knobs, what is
already requested), the moment and the shop's settings, it says which after-sales options are open
(kind × reason, until when, who pays return shipping) and which are refused, each refusal with the
rule id that refused it and a message a customer understands. Services and selectors gather the
facts; the API, the portal and the dashboard all ask this module, so a rule has one owner.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales.orders.guarantees import Remedy, day_number, quality_remedies, window_end

CENT = Decimal("0.01")


class Kind(models.TextChoices):
    RETURN = "return", _("Return & refund")
    EXCHANGE = "exchange", _("Exchange")
    REISSUE = "reissue", _("Reissue")
    REFUND_ONLY = "refund_only", _("Refund only")


class Reason(models.TextChoices):
    NO_REASON = "no_reason", _("No reason (7-day return)")
    QUALITY = "quality", _("Quality problem")
    TRANSIT_DAMAGE = "transit_damage", _("Damaged in transit")
    MISSING_PARTS = "missing_parts", _("Missing parts")
    WRONG_ITEM = "wrong_item", _("Wrong item shipped")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    NOT_RECEIVED = "not_received", _("Not received")


class Payer(models.TextChoices):
    CUSTOMER = "customer", _("You pay the return shipping")
    SHOP = "shop", _("The shop pays the return shipping")


# R-RET-8: reasons whose request must carry photos.
PHOTOS_REQUIRED = frozenset({Reason.QUALITY, Reason.TRANSIT_DAMAGE, Reason.MISSING_PARTS, Reason.WRONG_ITEM})
# R-RET-12: the shop pays return shipping for its own faults.
SHOP_FAULT = frozenset(
    {Reason.QUALITY, Reason.TRANSIT_DAMAGE, Reason.MISSING_PARTS, Reason.WRONG_ITEM, Reason.NOT_AS_DESCRIBED}
)


@dataclass(frozen=True)
class ShopPolicy:
    """The shop-level knobs (returns.models.ReturnSettings)."""

    auto_approve_limit: Decimal = Decimal("500.00")
    ship_deadline_days: int = 7
    inspection_business_days: int = 5
    free_returns_per_year: int = 2
    receipt_confirm_days: int = 10


@dataclass(frozen=True)
class CategoryRules:
    """The category knobs (aftersales.orders.models.Category) the engine reads."""

    no_reason_return_allowed: bool = True
    no_reason_return_days: int = 7
    quality_return_days: int = 7
    exchange_allowed: bool = True
    exchange_days: int = 15
    never_returnable_kind: str = ""
    quality_report_required: bool = False


@dataclass(frozen=True)
class LineFacts:
    """Everything the engine needs to know about one order line, gathered by a selector."""

    quantity: int
    requested_quantity: int  # already in open or completed requests (R-RET-13 duplicate guard)
    is_gift: bool
    category: CategoryRules
    warranty_months: int
    is_sealed: bool = False
    is_luxury: bool = False
    is_electronics: bool = False
    paid_at: datetime | None = None
    left_warehouse_at: datetime | None = None
    signed_for_at: datetime | None = None
    cancelled_at: datetime | None = None
    # Reasons of the requests still open on this line: one open request per line and reason.
    open_reasons: frozenset[str] = frozenset()

    @property
    def returnable_quantity(self) -> int:
        return max(self.quantity - self.requested_quantity, 0)


@dataclass(frozen=True)
class CustomerFacts:
    """R-RET-12 inputs: is this the customer's first order and first return, and how much of this
    year's free-return quota is used."""

    first_time_buyer: bool = False
    free_returns_used_this_year: int = 0


@dataclass(frozen=True)
class Option:
    kind: str
    reason: str
    open_until: datetime | None  # None: open until the situation changes (e.g. not yet delivered)
    return_shipping_paid_by: str
    photos_required: bool
    report_required: bool = False  # R-RET-8: an appliance's service-centre inspection report

    def get_kind_display(self) -> str:
        return str(Kind(self.kind).label)

    def get_reason_display(self) -> str:
        return str(Reason(self.reason).label)

    def get_payer_display(self) -> str:
        return str(Payer(self.return_shipping_paid_by).label)


@dataclass(frozen=True)
class Refusal:
    kind: str
    reason: str
    rule: str
    message: str

    def get_kind_display(self) -> str:
        return str(Kind(self.kind).label)

    def get_reason_display(self) -> str:
        return str(Reason(self.reason).label)


@dataclass
class LineVerdict:
    returnable_quantity: int
    options: list[Option] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    def option(self, kind: str, reason: str) -> Option | None:
        return next((o for o in self.options if o.kind == kind and o.reason == reason), None)

    def refusal(self, kind: str, reason: str) -> Refusal | None:
        return next((r for r in self.refused if r.kind == kind and r.reason == reason), None)

    @property
    def one_reason(self) -> Refusal | None:
        """When nothing is open and every refusal says the same thing (a cancelled order, a gift,
        every unit requested), that one refusal: the page says it once."""
        if self.options or not self.refused:
            return None
        first = self.refused[0]
        same = all((r.rule, r.message) == (first.rule, first.message) for r in self.refused)
        return first if same else None


# Every (kind, reason) pair a customer may ask for; the engine answers each one.
REQUESTS: tuple[tuple[str, str], ...] = (
    (Kind.RETURN, Reason.NO_REASON),
    (Kind.RETURN, Reason.QUALITY),
    (Kind.RETURN, Reason.TRANSIT_DAMAGE),
    (Kind.RETURN, Reason.MISSING_PARTS),
    (Kind.RETURN, Reason.WRONG_ITEM),
    (Kind.RETURN, Reason.NOT_AS_DESCRIBED),
    (Kind.EXCHANGE, Reason.NO_REASON),
    (Kind.EXCHANGE, Reason.QUALITY),
    (Kind.EXCHANGE, Reason.TRANSIT_DAMAGE),
    (Kind.EXCHANGE, Reason.MISSING_PARTS),
    (Kind.EXCHANGE, Reason.WRONG_ITEM),
    (Kind.EXCHANGE, Reason.NOT_AS_DESCRIBED),
    (Kind.REISSUE, Reason.NOT_RECEIVED),
    (Kind.REISSUE, Reason.MISSING_PARTS),
    (Kind.REFUND_ONLY, Reason.NOT_RECEIVED),
)


def return_shipping_paid_by(reason: str, customer: CustomerFacts, shop: ShopPolicy) -> str:
    """R-RET-12: the shop pays for its faults; for a no-reason return the customer pays, except a
    first-time buyer's first return and the yearly free-return quota."""
    if reason in SHOP_FAULT or reason == Reason.NOT_RECEIVED:
        return Payer.SHOP
    if customer.first_time_buyer:
        return Payer.SHOP
    if customer.free_returns_used_this_year < shop.free_returns_per_year:
        return Payer.SHOP
    return Payer.CUSTOMER


def line_verdict(
    line: LineFacts, *, now: datetime, shop: ShopPolicy = ShopPolicy(), customer: CustomerFacts = CustomerFacts()
) -> LineVerdict:
    """Every request a customer could make for this line, each either open or refused."""
    verdict = LineVerdict(returnable_quantity=line.returnable_quantity)
    for kind, reason in REQUESTS:
        answer = _decide(line, kind, reason, now)
        if isinstance(answer, Refusal):
            verdict.refused.append(answer)
        else:
            verdict.options.append(
                Option(
                    kind=kind,
                    reason=reason,
                    open_until=answer,
                    return_shipping_paid_by=return_shipping_paid_by(reason, customer, shop),
                    photos_required=reason in PHOTOS_REQUIRED,
                    report_required=report_required(line, kind, reason),
                )
            )
    return verdict


def report_required(line: LineFacts, kind: str, reason: str) -> bool:
    """R-RET-8: a quality-problem return or exchange of an appliance needs a manufacturer service
    centre's inspection report (its validity also bounds the ship deadline, R-RET-10)."""
    return line.category.quality_report_required and reason == Reason.QUALITY and kind in (Kind.RETURN, Kind.EXCHANGE)


def _refuse(kind, reason, rule, message) -> Refusal:
    return Refusal(kind=str(kind), reason=str(reason), rule=rule, message=str(message))


def _decide(line: LineFacts, kind: str, reason: str, now: datetime) -> datetime | Refusal | None:
    """The closing time (or None: no fixed end) of an open request, or the refusal."""
    rules = line.category
    if line.cancelled_at:
        return _refuse(kind, reason, "R-RET-9", _("The order was cancelled; nothing was delivered to return."))
    if line.is_gift:
        return _refuse(kind, reason, "R-RET-13", _("A gift goes back together with the item it came with."))
    if line.returnable_quantity <= 0:
        return _refuse(kind, reason, "R-RET-13", _("Every unit of this item is already in an after-sales request."))
    if reason in line.open_reasons:
        return _refuse(kind, reason, "R-RET-13", _("You already have an open request for this item with this reason."))

    # Not delivered yet: only the not-received remedies.
    if line.signed_for_at is None:
        if reason != Reason.NOT_RECEIVED:
            rule = "R-RET-5" if kind == Kind.EXCHANGE else "R-RET-1"
            return _refuse(kind, reason, rule, _("This is possible once you have signed for the parcel."))
        if kind == Kind.REFUND_ONLY:
            if line.paid_at is None:
                return _refuse(kind, reason, "R-RET-14", _("Nothing has been paid for this order yet."))
            if line.left_warehouse_at is not None:
                return _refuse(
                    kind, reason, "R-RET-14", _("The parcel is on its way; if it is lost, ask for a reissue.")
                )
            return None
        if line.left_warehouse_at is None:
            return _refuse(kind, reason, "R-RET-14", _("The parcel has not left the warehouse yet."))
        return None  # R-RET-14: lost parcel, checked against the logistics record by staff

    day = day_number(line.signed_for_at, now)
    if reason == Reason.NOT_RECEIVED:
        return _refuse(kind, reason, "R-RET-14", _("The parcel was signed for."))

    if reason == Reason.NO_REASON:
        if line.category.never_returnable_kind:
            return _refuse(kind, reason, "R-RET-7", _("This kind of goods cannot be returned without a reason."))
        if kind == Kind.RETURN:
            if not rules.no_reason_return_allowed:
                return _refuse(kind, reason, "R-RET-1", _("This category has no no-reason returns."))
            if day > rules.no_reason_return_days:
                return _refuse(
                    kind,
                    reason,
                    "R-RET-1",
                    _("No-reason returns close %(days)d days after sign-for.") % {"days": rules.no_reason_return_days},
                )
            return window_end(line.signed_for_at, rules.no_reason_return_days)
        return _exchange_window(line, kind, reason, day)

    if reason == Reason.QUALITY:
        # R-RET-2: the three-guarantees ladder decides; exchange under 三包 is owed even where the
        # category offers no ordinary exchange.
        ladder = {
            step.remedy: step.open_until
            for step in quality_remedies(
                signed_for_at=line.signed_for_at,
                now=now,
                warranty_months=line.warranty_months,
                return_days=rules.quality_return_days,
                exchange_days=rules.exchange_days,
            )
        }
        remedy = Remedy.RETURN if kind == Kind.RETURN else Remedy.EXCHANGE
        if kind in (Kind.RETURN, Kind.EXCHANGE) and remedy in ladder:
            return ladder[remedy]
        if kind == Kind.REISSUE:
            return _refuse(kind, reason, "R-RET-14", _("A reissue is for parcels lost or items missing."))
        if Remedy.REPAIR in ladder:
            return _refuse(
                kind,
                reason,
                "R-RET-2",
                _("At this point a quality problem is covered by free repair: open a warranty claim."),
            )
        return _refuse(kind, reason, "R-RET-2", _("The warranty has ended; a paid repair quote can be offered."))

    if reason == Reason.MISSING_PARTS and kind == Kind.REISSUE:
        if day > rules.quality_return_days:
            return _refuse(kind, reason, "R-RET-14", _("Missing items must be reported within 7 days of sign-for."))
        return window_end(line.signed_for_at, rules.quality_return_days)
    if kind == Kind.REISSUE:
        return _refuse(kind, reason, "R-RET-14", _("A reissue is for parcels lost or items missing."))

    if reason in (Reason.TRANSIT_DAMAGE, Reason.MISSING_PARTS):
        if day > rules.quality_return_days:
            return _refuse(
                kind,
                reason,
                "R-RET-3",
                _("Transit damage and missing parts must be reported within 7 days of sign-for."),
            )
        return window_end(line.signed_for_at, rules.quality_return_days)

    # Wrong item (R-RET-4) and not as described: the shop's mistake, open through the exchange window.
    if day > rules.exchange_days:
        message = (
            _("This must be reported within %(days)d days of sign-for.") % {"days": rules.exchange_days}
            if rules.exchange_days
            else _("This must be reported on the day of sign-for.")
        )
        return _refuse(kind, reason, "R-RET-4", message)
    return window_end(line.signed_for_at, rules.exchange_days)


def _exchange_window(line: LineFacts, kind: str, reason: str, day: int) -> datetime | Refusal:
    """R-RET-5: an ordinary exchange (received goods, within the exchange window, if allowed)."""
    rules = line.category
    if not rules.exchange_allowed:
        return _refuse(kind, reason, "R-RET-5", _("This category offers no exchanges."))
    if day > rules.exchange_days:
        return _refuse(
            kind,
            reason,
            "R-RET-5",
            _("Exchanges close %(days)d days after sign-for.") % {"days": rules.exchange_days},
        )
    return window_end(line.signed_for_at, rules.exchange_days)


# --- Condition of the goods (R-RET-6) -------------------------------------------------------


class Condition(models.TextChoices):
    """What a customer declares about the goods when returning them without a reason."""

    PACKAGE_OPENED = "package_opened", _("The original package is opened")
    SEAL_INTACT = "seal_intact", _("The seal / security tag is intact")
    POWERED_ON = "powered_on", _("The product was switched on")
    ACTIVATED = "activated", _("The product was activated / registered")
    WATER_EXPOSURE = "water_exposure", _("The product got wet")
    CARD_INSERTED = "card_inserted", _("A SIM or memory card was inserted")
    ACCESSORIES_COMPLETE = "accessories_complete", _("All accessories, manuals and gifts are included")


def condition_questions(line: LineFacts) -> list[str]:
    """The declarations to ask for this product, by its resale-sensitive flags."""
    questions = [Condition.ACCESSORIES_COMPLETE, Condition.WATER_EXPOSURE]
    if line.is_sealed or line.is_luxury:
        questions.insert(0, Condition.SEAL_INTACT)
    if line.is_sealed or line.is_electronics:
        questions.insert(0, Condition.PACKAGE_OPENED)
    if line.is_electronics:
        questions += [Condition.POWERED_ON, Condition.ACTIVATED, Condition.CARD_INSERTED]
    return [str(q) for q in questions]


def check_condition(line: LineFacts, declared: dict[str, bool]) -> Refusal | None:
    """R-RET-6: a no-reason return needs resaleable goods. Missing answers count as the worse case."""
    kind, reason = Kind.RETURN, Reason.NO_REASON

    def says(flag: str, default: bool) -> bool:
        value = declared.get(flag)
        return default if value is None else bool(value)

    if (line.is_luxury or line.is_sealed) and not says(Condition.SEAL_INTACT, False):
        return _refuse(kind, reason, "R-RET-6", _("Goods whose seal was moved or torn cannot be resold."))
    if (line.is_sealed or line.is_electronics) and says(Condition.PACKAGE_OPENED, True):
        return _refuse(kind, reason, "R-RET-6", _("This product cannot be resold once its original package is opened."))
    if line.is_electronics and (says(Condition.POWERED_ON, True) or says(Condition.ACTIVATED, True)):
        return _refuse(kind, reason, "R-RET-6", _("A device that was switched on or activated cannot be resold."))
    if line.is_electronics and says(Condition.CARD_INSERTED, True):
        return _refuse(kind, reason, "R-RET-6", _("A device that had a card inserted cannot be resold."))
    if says(Condition.WATER_EXPOSURE, True):
        return _refuse(kind, reason, "R-RET-6", _("Goods that got wet cannot be resold."))
    if not says(Condition.ACCESSORIES_COMPLETE, False):
        return _refuse(kind, reason, "R-RET-6", _("Accessories, manuals and gifts must come back too."))
    return None


# --- Money (R-RET-13) ------------------------------------------------------------------------


def units_paid(paid_amount: Decimal, quantity: int, *, already_returned: int, returning: int) -> Decimal:
    """What `returning` units of a line cost, after its apportioned discount.

    Computed as a difference of cumulative shares, so however a line is returned in parts, the parts
    add up to exactly what the line cost (no cent lost or paid twice to rounding)."""
    if returning < 0 or already_returned < 0 or already_returned + returning > quantity:
        raise ValueError("returning more units than the line has")

    def share(units: int) -> Decimal:
        return (paid_amount * units / quantity).quantize(CENT, rounding=ROUND_HALF_UP)

    return share(already_returned + returning) - share(already_returned)


def refund_amount(
    *,
    goods: Decimal,
    missing_gift_value: Decimal = Decimal("0"),
    deductions: Decimal = Decimal("0"),
    remaining: Decimal,
) -> Decimal:
    """R-RET-13: what was paid for the returned units, less a missing gift's value and condition
    deductions set at inspection, never below zero and never above what the order still has to
    refund."""
    amount = goods - missing_gift_value - deductions
    return max(Decimal("0.00"), min(amount, remaining)).quantize(CENT)


def missing_gift_value(
    *, gift_unit_value: Decimal, gift_quantity: int, main_quantity: int, main_returning: int, gifts_returning: int
) -> Decimal:
    """R-RET-13: gifts owed back for `main_returning` main units (rounded up), and the value of those
    that do not come back."""
    owed = -(-gift_quantity * main_returning // main_quantity)  # ceiling division
    return gift_unit_value * max(owed - gifts_returning, 0)


def exchange_difference(*, paid_for_units: Decimal, replacement_unit_price: Decimal, units: int) -> Decimal:
    """R-RET-5: what an exchange for another variant costs: positive, the customer pays it; negative,
    the shop refunds it. (Swapping a unit for the same product costs nothing, whatever its price is
    today: the caller does not ask then, so a same-model three-guarantees exchange is free.)"""
    return (replacement_unit_price * units - paid_for_units).quantize(CENT)


def auto_approvable(*, estimate: Decimal, shop: ShopPolicy) -> bool:
    """R-RET-15: a request that passed every rule is approved without an agent up to the limit."""
    return estimate <= shop.auto_approve_limit
