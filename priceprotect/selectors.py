"""Reads for price protection: the facts `priceprotect.policy` decides on, the orders a price drop
reaches, and what staff and customers see."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from aftersales.cases.models import CaseKind
from aftersales.orders.guarantees import local_day
from aftersales.orders.models import Order, OrderLine, PriceChange, PriceKind, Product

from . import policy
from .models import Claim, Revocation

# Units in these requests come back for their money, so their compensation is not due (R-PP-6).
REFUNDING_KINDS = (CaseKind.RETURN, CaseKind.REFUND_ONLY)


def _in_effect(now: datetime) -> Q:
    return (Q(ends_at__isnull=True) | Q(ends_at__gt=now)) & Q(effective_at__lte=now)


def active_prices(product: Product, now: datetime) -> QuerySet[PriceChange]:
    return product.price_changes.filter(_in_effect(now))


def active_prices_of(product_ids: Iterable[int], now: datetime) -> dict[int, list[PriceChange]]:
    """{product id: its price entries in effect `now`} for several products, in one query."""
    active: dict[int, list[PriceChange]] = defaultdict(list)
    for entry in PriceChange.objects.filter(_in_effect(now), product_id__in=set(product_ids)):
        active[entry.product_id].append(entry)
    return active


def lowest_promotion(active: Iterable[PriceChange]) -> PriceChange | None:
    """The lowest promotion or pricing-error entry among `active` (the latest of equal prices)."""
    promotions = [entry for entry in active if entry.kind != PriceKind.REGULAR]
    return min(promotions, key=lambda e: (e.price, -e.effective_at.timestamp(), -e.pk), default=None)


def basis_from(product: Product, active: Iterable[PriceChange]) -> tuple[policy.Basis, PriceChange | None]:
    """R-PP-4: the regular price in effect (the latest regular entry among `active`, the product's
    entries in effect) is the basis; the lowest promotion or pricing-error price in effect is only
    reported."""
    active = list(active)
    regular = max(
        (entry for entry in active if entry.kind == PriceKind.REGULAR),
        key=lambda e: (e.effective_at, e.pk),
        default=None,
    )
    lowest = lowest_promotion(active)
    promotion = lowest.price if lowest is not None else None
    if regular is None:  # no history: the catalogue price, with no date to prove it dropped
        return policy.Basis(regular=product.price, regular_since=None, promotion=promotion), None
    return policy.Basis(regular=regular.price, regular_since=regular.effective_at, promotion=promotion), regular


def basis_of(product: Product, now: datetime) -> tuple[policy.Basis, PriceChange | None]:
    """`basis_from` the product's entries in effect `now`."""
    return basis_from(product, active_prices(product, now))


def returned_units(order: Order) -> dict[int, int]:
    """{order line id: units in live return or refund-only requests}."""
    from returns.selectors import live_return_lines

    rows = (
        live_return_lines()
        .filter(order_line__order=order, request__case__kind__in=REFUNDING_KINDS)
        .values("order_line_id")
        .annotate(units=Sum("quantity"))
        .values_list("order_line_id", "units")
    )
    return dict(rows)


def order_facts(order: Order) -> policy.OrderFacts:
    return policy.OrderFacts(
        payment_mode=order.payment_mode,
        is_b2b=order.is_b2b,
        placed_at=order.placed_at,
        paid_at=order.paid_at,
        left_warehouse_at=order.left_warehouse_at,
        signed_for_at=order.signed_for_at,
        cancelled_at=order.cancelled_at,
        claimed=Claim.objects.filter(order=order).exists(),
    )


def verdict(order: Order, now: datetime | None = None) -> tuple[policy.Verdict, dict[int, PriceChange | None]]:
    """What a claim on `order` made `now` would get, and the price entry each line's basis came from."""
    now = now or timezone.now()
    returned = returned_units(order)
    order_lines = list(order.lines.select_related("product__category").order_by("line_no"))
    active = active_prices_of((line.product_id for line in order_lines), now)
    lines, entries = [], {}
    for line in order_lines:
        basis, entries[line.pk] = basis_from(line.product, active[line.product_id])
        lines.append(
            policy.LineFacts(
                line_id=line.pk,
                is_gift=line.is_gift,
                quantity=line.quantity,
                returned=returned.get(line.pk, 0),
                paid_amount=line.paid_amount,
                basis=basis,
                window_days=line.product.category.price_protection_days,
            )
        )
    return policy.claim_verdict(order_facts(order), lines, now), entries


def claim_of(order: Order) -> Claim | None:
    return Claim.objects.filter(order=order).select_related("case", "refund", "coupon").first()


def deducted_for_return(case) -> Decimal:
    """What price protection took back from this return's refund (R-PP-6)."""
    total = Revocation.objects.filter(return_case=case).aggregate(total=Sum("deducted_from_refund"))["total"]
    return Decimal(total or 0).quantize(policy.CENT)


# --- Price drops ---------------------------------------------------------------------------------


def window_cutoff(category_days: int, now: datetime) -> datetime:
    """Orders signed for at or after this moment are still inside a `category_days` window (R-PP-2):
    it closes at the end of local day `category_days` after sign-for, so today must be no later."""
    first_open_day = local_day(now) - timedelta(days=category_days)
    return datetime.combine(first_open_day, time.min, tzinfo=timezone.get_current_timezone())


def lines_gaining(product: Product, price: Decimal, now: datetime) -> QuerySet[OrderLine]:
    """Order lines a regular price of `price` would compensate: paid more per unit, on orders still
    inside their window, not B2B, not cancelled, with no claim yet, not gifts. A database-side filter
    (the policy re-checks each claim), so a drop on a product with 100,000 open orders is streamed,
    never loaded whole. Lines with units being returned are left to the claim to sort out."""
    cutoff = window_cutoff(product.category.price_protection_days, now)
    claimed = Claim.objects.filter(order=OuterRef("order"))
    return (
        OrderLine.objects.filter(
            product=product,
            gift_of__isnull=True,
            paid_amount__gt=F("quantity") * price,
            order__is_b2b=False,
            order__cancelled_at__isnull=True,
        )
        .filter(
            # The window opened before now: prepaid at payment, COD and pickup when placed.
            Q(order__payment_mode="prepaid", order__paid_at__lte=now)
            | (~Q(order__payment_mode="prepaid") & Q(order__placed_at__lte=now))
        )
        .filter(Q(order__signed_for_at__isnull=True) | Q(order__signed_for_at__gte=cutoff))
        .exclude(Exists(claimed))
    )


def exposure(product: Product, price: Decimal, now: datetime | None = None) -> dict:
    """What cutting `product`'s regular price to `price` would cost in price protection if every order
    in its window claimed: {orders, units, amount} (an upper bound: units later returned are not due)."""
    now = now or timezone.now()
    rows = lines_gaining(product, price, now).aggregate(
        orders=Count("order", distinct=True),
        units=Sum("quantity"),
        amount=Sum(F("paid_amount") - F("quantity") * price),
    )
    return {
        "orders": rows["orders"] or 0,
        "units": rows["units"] or 0,
        "amount": Decimal(rows["amount"] or 0).quantize(policy.CENT),
    }
