"""One order's price protection as the customer portal and the API show it: each line's paid and
current regular price, what a claim made now would yield and until when, or the rule that refuses it
(from `selectors.verdict`, i.e. `policy.claim_verdict`), a promotion price in effect shown only as
information (R-PP-4), and once claimed the claim with its lines and revocations (R-PP-6).

Reads only; every figure and refusal is the policy's. Views and serializers render these objects."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from aftersales.cases.models import Case, CaseKind
from aftersales.cases.selectors import cases_visible_to
from aftersales.finance import ledger
from aftersales.finance.models import Coupon, Refund
from aftersales.orders.models import Order, OrderLine, PriceChange

from . import policy, selectors
from .models import Claim, ClaimLine, Destination, PriceProtectionSettings, Revocation
from .policy import Mode

# The rule a promotion or pricing-error price in effect is shown with: never a basis (R-PP-4).
PROMOTION_RULE = "R-PP-4"


@dataclass(frozen=True)
class LineRow:
    line: OrderLine
    verdict: policy.LineVerdict
    window_days: int  # the category's knob: 0 closes at the end of the sign-for day (R-PP-2)
    yields: Decimal  # what a claim made now would pay for this line: nothing while the order is refused
    promotion: PriceChange | None = None  # the lowest non-regular price in effect below what was paid
    claimed: ClaimLine | None = None  # this line's part of the order's claim, once claimed

    @property
    def promotion_rule(self) -> str:
        return PROMOTION_RULE if self.promotion is not None else ""


@dataclass(frozen=True)
class OrderOverview:
    order: Order
    verdict: policy.Verdict
    lines: list[LineRow]
    destination: str = ""  # where a credited claim would go now (the shop's knob, R-PP-3); "" if repriced
    claim: Claim | None = None
    paid_as: str = ""  # the claim's, in a sentence
    revocations: list[Revocation] = field(default_factory=list)

    @property
    def amount(self) -> Decimal:
        """What a claim made now would pay in all."""
        return self.verdict.amount if self.claimable else policy.ZERO

    @property
    def claimable(self) -> bool:
        """A claim made now would be accepted: the policy refuses neither the order nor every line."""
        return self.verdict.refusal is None

    @property
    def destination_label(self) -> str:
        return str(Destination(self.destination).label) if self.destination else ""

    def can_claim(self, user) -> bool:
        """Only the order's customer claims, with one click (the sweep claims for them otherwise)."""
        return self.claimable and user.is_authenticated and user.pk == self.order.customer_id


def _promotion(active: list[PriceChange], paid_unit) -> PriceChange | None:
    """The lowest promotion or pricing-error price in effect (among the line's product's `active`
    entries), if it is below what was paid: the one price a customer might expect a claim on, which
    R-PP-4 excludes."""
    entry = selectors.lowest_promotion(active)
    return entry if entry is not None and entry.price < paid_unit else None


def order_overview(order: Order, now: datetime | None = None) -> OrderOverview:
    now = now or timezone.now()
    verdict, _entries = selectors.verdict(order, now)
    lines = {line.pk: line for line in order.lines.select_related("product__category")}
    active = selectors.active_prices_of((line.product_id for line in lines.values()), now)
    claim = selectors.claim_of(order)
    claimed: dict[int, ClaimLine] = {}
    revocations: list[Revocation] = []
    if claim is not None:
        claimed = {row.order_line_id: row for row in claim.lines.all()}
        revocations = list(claim.revocations.select_related("return_case"))
    rows = []
    for line_verdict in verdict.lines:
        line = lines[line_verdict.line_id]
        rows.append(
            LineRow(
                line=line,
                verdict=line_verdict,
                window_days=line.product.category.price_protection_days,
                yields=line_verdict.amount if verdict.refusal is None else policy.ZERO,
                promotion=None if line.is_gift else _promotion(active[line.product_id], line_verdict.paid_unit),
                claimed=claimed.get(line.pk),
            )
        )
    destination = ""
    if verdict.mode == Mode.CREDIT:
        destination = PriceProtectionSettings.current().destination
    return OrderOverview(
        order=order,
        verdict=verdict,
        lines=rows,
        destination=destination,
        claim=claim,
        paid_as=paid_as(claim, now) if claim is not None else "",
        revocations=revocations,
    )


# --- Claims ---------------------------------------------------------------------------------------------


def claims_of(customer) -> QuerySet[Claim]:
    """The customer's own claims, newest first (the portal's history)."""
    return (
        Claim.objects.filter(case__customer=customer)
        .select_related("case", "order", "coupon", "refund")
        .order_by("-case__opened_at", "-pk")
    )


def claims_visible_to(user) -> QuerySet[Claim]:
    """Claims whose case `user` may see: their own, or every one for case staff."""
    return (
        Claim.objects.filter(case__in=cases_visible_to(user).filter(kind=CaseKind.PRICE_PROTECTION))
        .select_related("case", "order", "coupon", "refund")
        .order_by("-case__opened_at", "-pk")
    )


def claim_cases_visible_to(user) -> QuerySet[Case]:
    """Price-protection cases with a claim that `user` may see (another customer's is simply absent)."""
    return cases_visible_to(user).filter(kind=CaseKind.PRICE_PROTECTION, price_claim__isnull=False)


def claim_detail(case: Case) -> Claim:
    """The claim as stored now, with its lines, revocations, coupon and refund loaded."""
    return (
        Claim.objects.select_related("case", "order", "coupon", "refund")
        .prefetch_related(
            "lines__order_line__product",
            "revocations__return_case",
        )
        .get(case_id=case.pk)
    )


def _day(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT")


def paid_as(claim: Claim, now: datetime | None = None) -> str:
    """How the claim's compensation was (or will be) paid, in a sentence (R-PP-3): the order repriced,
    or credited as a coupon (its code and state), to the store balance, as points or to the original
    payment method."""
    case = claim.case
    if claim.mode == Mode.REPRICE:
        if case.status == "compensated" or claim.compensated_at is not None:
            return _("Order repriced: you pay %(amount)s less.") % {"amount": f"{claim.amount:.2f}"}
        return _("The order will be repriced once the claim is approved.")
    coupon = claim.coupon
    if coupon is not None:
        state = ledger.coupon_state(coupon, now)
        if state == Coupon.State.ISSUED:
            return _("Coupon %(code)s, valid until %(date)s.") % {"code": coupon.code, "date": _day(coupon.expires_at)}
        return _("Coupon %(code)s (%(state)s).") % {"code": coupon.code, "state": Coupon.State(state).label}
    destination = Destination(claim.destination).label
    refund = claim.refund
    if case.status == "rejected" or (refund is not None and refund.state == Refund.State.REJECTED):
        return _("Not paid: the claim was rejected.")
    if case.status == "revoked" and refund is None:
        return _("Not paid: the goods came back.")
    if refund is not None and refund.state in (Refund.State.SUCCEEDED, Refund.State.RESOLVED):
        return _("Paid as %(destination)s.") % {"destination": destination}
    if refund is not None:
        return _("To be paid as %(destination)s (%(state)s).") % {
            "destination": destination,
            "state": refund.get_state_display(),
        }
    return _("To be paid as %(destination)s once the claim is approved.") % {"destination": destination}
