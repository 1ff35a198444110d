"""Price-protection rules as pure functions (DOMAIN §4, R-PP-1 … R-PP-7): the window, the price basis,
what a claim yields per line, how it is paid and when an agent must look. Nothing here reads the
database; `priceprotect.selectors` gathers the facts.

- R-PP-1 compensation per line = what was paid for the units − basis × units, never negative.
- R-PP-2 the window opens at payment (COD and pickup: when the order is placed) and closes at the end
  of the sign-for (pickup) day in the shop's time zone, or N days later where the category allows N.
- R-PP-3 prepaid, or COD/pickup after leaving the warehouse → a credit (coupon by default); COD/pickup
  still in the warehouse → the order is repriced.
- R-PP-4 the basis is the current *regular* price; promotions and pricing errors never are; B2B orders
  and gifts are not eligible.
- R-PP-5 one claim per order (also a database constraint).
- R-PP-7 a claim passing every rule is approved at once, unless some line's drop exceeds the review
  percentage (a suspected pricing error), which an agent decides.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.orders.guarantees import window_end

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


class Mode(models.TextChoices):
    CREDIT = "credit", gettext_lazy("Credited to your account")
    REPRICE = "reprice", gettext_lazy("Order repriced")


@dataclass(frozen=True)
class Refusal:
    rule: str
    message: str


@dataclass(frozen=True)
class Basis:
    """The product's price now: its regular price (and since when), and the lowest promotion or
    pricing-error price in effect, which is shown but never used (R-PP-4)."""

    regular: Decimal
    regular_since: datetime | None
    promotion: Decimal | None = None


@dataclass(frozen=True)
class OrderFacts:
    payment_mode: str  # orders.PaymentMode values
    is_b2b: bool
    placed_at: datetime
    paid_at: datetime | None
    left_warehouse_at: datetime | None
    signed_for_at: datetime | None
    cancelled_at: datetime | None
    claimed: bool


@dataclass(frozen=True)
class LineFacts:
    line_id: int
    is_gift: bool
    quantity: int
    returned: int  # units in live return or refund-only requests: their money goes back another way
    paid_amount: Decimal  # what the whole line cost after discounts
    basis: Basis
    window_days: int = 0  # the product category's knob (R-PP-2)


@dataclass(frozen=True)
class LineVerdict:
    line_id: int
    units: int
    paid_unit: Decimal
    basis: Decimal
    amount: Decimal
    drop_percent: Decimal
    closes_at: datetime | None
    refusal: Refusal | None = None

    @property
    def eligible(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True)
class Verdict:
    """The whole claim: its refusal (order-level, or every line refused), or the lines it pays for."""

    lines: tuple[LineVerdict, ...]
    mode: str
    window_opens_at: datetime | None
    window_closes_at: datetime | None  # the last line's; None while the order is not signed for
    refusal: Refusal | None = None

    @property
    def amount(self) -> Decimal:
        return sum((v.amount for v in self.lines if v.eligible), ZERO)

    @property
    def eligible_lines(self) -> list[LineVerdict]:
        return [v for v in self.lines if v.eligible]

    def needs_review(self, review_above_percent: Decimal) -> bool:
        """R-PP-7: a drop this steep looks like a pricing error; an agent decides."""
        return any(v.drop_percent > review_above_percent for v in self.eligible_lines)


def window_opens_at(order: OrderFacts) -> datetime | None:
    """R-PP-2: payment starts the window; COD and pickup orders pay later, so placing them does."""
    if order.payment_mode == "prepaid":
        return order.paid_at
    return order.placed_at


def window_closes_at(signed_for_at: datetime | None, days: int) -> datetime | None:
    """R-PP-2: the end of the sign-for (pickup) day in the shop's time zone, or `days` days later;
    open while the order is not signed for."""
    if signed_for_at is None:
        return None
    return window_end(signed_for_at, days)


def mode(order: OrderFacts) -> str:
    """R-PP-3: an order still in the warehouse and not paid yet is repriced; otherwise credited."""
    if order.payment_mode in ("cod", "pickup") and order.left_warehouse_at is None:
        return Mode.REPRICE
    return Mode.CREDIT


def compensation(*, paid_amount: Decimal, units: int, quantity: int, basis: Decimal) -> Decimal:
    """R-PP-1: (paid unit price − basis) × units, from the line's exact paid amount (no cent lost to a
    rounded unit price); never negative."""
    paid_for_units = (paid_amount * units / quantity).quantize(CENT, rounding=ROUND_HALF_UP)
    return max(paid_for_units - basis * units, ZERO).quantize(CENT)


def order_refusal(order: OrderFacts, now: datetime) -> Refusal | None:
    if order.is_b2b:
        return Refusal("R-PP-4", _("Business (B2B) orders have no price protection."))
    if order.cancelled_at is not None:
        return Refusal("R-PP-6", _("This order was cancelled or refused."))
    if order.claimed:
        return Refusal("R-PP-5", _("This order already has a price-protection claim; each order has one."))
    opens = window_opens_at(order)
    if opens is None or opens > now:
        return Refusal("R-PP-2", _("Price protection starts once the order is paid."))
    return None


def _closed(closes: datetime) -> tuple[str, str]:
    return (
        "R-PP-2",
        _("Price protection ended on %(date)s.")
        % {"date": formats.date_format(timezone.localtime(closes), "SHORT_DATE_FORMAT")},
    )


def line_verdict(line: LineFacts, *, order: OrderFacts, now: datetime) -> LineVerdict:
    units = line.quantity - line.returned
    paid_unit = (line.paid_amount / line.quantity).quantize(CENT, rounding=ROUND_HALF_UP)
    basis = line.basis.regular
    closes = window_closes_at(order.signed_for_at, line.window_days)

    def refused(rule: str, message: str) -> LineVerdict:
        return LineVerdict(line.line_id, max(units, 0), paid_unit, basis, ZERO, ZERO, closes, Refusal(rule, message))

    if line.is_gift:
        return refused("R-PP-4", _("Gifts have no price protection."))
    if closes is not None and now > closes:
        return refused(*_closed(closes))
    if units <= 0:
        return refused("R-PP-6", _("These units were returned or are being returned."))
    opens = window_opens_at(order)
    dropped_since_paid = line.basis.regular_since is not None and (opens is None or line.basis.regular_since > opens)
    amount = compensation(paid_amount=line.paid_amount, units=units, quantity=line.quantity, basis=basis)
    if not dropped_since_paid or amount <= 0:
        if line.basis.promotion is not None and line.basis.promotion < paid_unit:
            return refused("R-PP-4", _("Only the regular price counts; promotion prices and pricing errors never do."))
        return refused("R-PP-1", _("The regular price has not dropped below what you paid."))
    drop_percent = ((paid_unit - basis) / paid_unit * 100).quantize(CENT) if paid_unit else ZERO
    return LineVerdict(line.line_id, units, paid_unit, basis, amount, drop_percent, closes)


def claim_verdict(order: OrderFacts, lines: Sequence[LineFacts], now: datetime) -> Verdict:
    """Everything a claim made `now` would get, line by line, and the refusal if it gets nothing.
    Each line keeps its own category's window, so one line may still be claimable after another's
    window closed."""
    verdicts = tuple(line_verdict(line, order=order, now=now) for line in lines)
    closes = [v.closes_at for v in verdicts if v.closes_at is not None]
    refusal = order_refusal(order, now)
    if refusal is None and not any(v.eligible for v in verdicts):
        refused = [v.refusal for v in verdicts if v.refusal is not None]
        # The most telling reason: a closed window, then a promotion or gift (R-PP-4), then "no drop".
        refusal = next((r for rule in ("R-PP-2", "R-PP-4") for r in refused if r.rule == rule), None) or (
            refused[0] if refused else Refusal("R-PP-1", _("This order has nothing to claim."))
        )
    return Verdict(
        lines=verdicts,
        mode=mode(order),
        window_opens_at=window_opens_at(order),
        window_closes_at=max(closes) if closes else None,
        refusal=refusal,
    )
