"""Reads for the returns app: gather the facts the policy engine needs from the database."""

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from aftersales.cases.models import CaseKind
from aftersales.orders.models import Order, OrderLine, Product

from .models import ReturnLine, ReturnRequest, ReturnSettings
from .policy import CategoryRules, CustomerFacts, LineFacts, LineVerdict, Payer, Reason, ShopPolicy, line_verdict

RETURN_KINDS = (CaseKind.RETURN, CaseKind.EXCHANGE, CaseKind.REISSUE, CaseKind.REFUND_ONLY)
# Requests that ended without the goods changing hands give their units back (R-RET-13).
RELEASED_STATUSES = ("rejected", "cancelled", "expired", "inspection_failed", "sent_back")


def shop_policy() -> ShopPolicy:
    settings = ReturnSettings.current()
    return ShopPolicy(
        auto_approve_limit=settings.auto_approve_limit,
        ship_deadline_days=settings.ship_deadline_days,
        inspection_business_days=settings.inspection_business_days,
        free_returns_per_year=settings.free_returns_per_year,
        receipt_confirm_days=settings.receipt_confirm_days,
    )


def live_return_lines():
    return ReturnLine.objects.exclude(request__case__status__in=RELEASED_STATUSES)


def label_lines(request: ReturnRequest):
    """The request's lines as the return label lists them: in order-line order, with their products."""
    return request.lines.select_related("order_line__product").order_by("order_line__line_no")


def line_requests(order: Order) -> tuple[dict[int, int], dict[int, frozenset[str]]]:
    """What the order's lines are already in, in one read: {order line id: units in live requests}
    (the duplicate guard, R-RET-13) and {order line id: reasons of its requests still open} (one open
    request per line and reason)."""
    requested: dict[int, int] = {}
    reasons: dict[int, set[str]] = {}
    rows = ReturnLine.objects.filter(order_line__order=order).values_list(
        "order_line_id", "quantity", "request__reason", "request__case__status", "request__case__closed_at"
    )
    for line_id, quantity, reason, status, closed_at in rows:
        if status not in RELEASED_STATUSES:
            requested[line_id] = requested.get(line_id, 0) + quantity
        if closed_at is None:
            reasons.setdefault(line_id, set()).add(reason)
    return requested, {line_id: frozenset(r) for line_id, r in reasons.items()}


def requested_quantities(order: Order) -> dict[int, int]:
    """{order line id: units already in live requests} — the duplicate guard."""
    return line_requests(order)[0]


def exchange_variants(lines) -> list:
    """R-RET-5: what these lines may be exchanged for: the same products and the active variants of
    the same models, cheapest first."""
    products = {line.product for line in lines}
    if not products:
        return []
    models_ = {p.model_code for p in products if p.model_code}
    query = Q(pk__in=[p.pk for p in products]) | Q(model_code__in=models_)
    return list(Product.objects.filter(query, active=True).order_by("price", "sku"))


def line_facts(line: OrderLine, *, requested: int, reasons: frozenset[str] = frozenset()) -> LineFacts:
    order, product, category = line.order, line.product, line.product.category
    main = line.gift_of or line
    return LineFacts(
        quantity=line.quantity,
        requested_quantity=requested,
        is_gift=line.gift_of_id is not None,
        category=CategoryRules(
            no_reason_return_allowed=category.no_reason_return_allowed,
            no_reason_return_days=category.no_reason_return_days,
            quality_return_days=category.quality_return_days,
            exchange_allowed=category.exchange_allowed,
            exchange_days=category.exchange_days,
            never_returnable_kind=category.never_returnable_kind,
            quality_report_required=category.quality_report_required,
        ),
        warranty_months=main.product.effective_warranty_months,
        is_sealed=product.is_sealed,
        is_luxury=product.is_luxury,
        is_electronics=product.is_electronics,
        paid_at=order.paid_at,
        left_warehouse_at=order.left_warehouse_at,
        signed_for_at=order.signed_for_at,  # R-ORD-1: a gift's sign-for time is its main line's
        cancelled_at=order.cancelled_at,
        open_reasons=reasons,
    )


def customer_facts(customer, *, now: datetime) -> CustomerFacts:
    """R-RET-12: first-time buyer (one order, no return yet) and this year's free returns used."""
    requests = list(
        ReturnRequest.objects.filter(case__customer=customer)
        .exclude(case__status__in=("rejected", "cancelled"))
        .values_list("reason", "return_shipping_paid_by", "case__opened_at")
    )
    year = timezone.localdate(now).year
    free = sum(
        reason == Reason.NO_REASON and paid_by == Payer.SHOP and timezone.localdate(opened_at).year == year
        for reason, paid_by, opened_at in requests
    )
    first_time = not requests and customer.orders.count() <= 1  # orders counted only when it matters
    return CustomerFacts(first_time_buyer=first_time, free_returns_used_this_year=free)


def policy_lines(order: Order) -> list[OrderLine]:
    """The order's lines in line order with what the policy reads of them (product, category, brand).
    A gift's main line is on the same order (R-ORD-1): linked here rather than joined again, and each
    line's order is `order` itself."""
    lines = list(order.lines.select_related("product__category", "product__brand").order_by("line_no"))
    by_pk = {line.pk: line for line in lines}
    for line in lines:
        if line.gift_of_id in by_pk:
            line.gift_of = by_pk[line.gift_of_id]
    return lines


def order_verdicts(order: Order, *, now: datetime | None = None) -> list[tuple[OrderLine, LineVerdict]]:
    """Every line of the order with what is open and what is refused, for the portal and the API."""
    now = now or timezone.now()
    requested, reasons = line_requests(order)
    shop, customer = shop_policy(), customer_facts(order.customer, now=now)
    return [
        (
            line,
            line_verdict(
                line_facts(line, requested=requested.get(line.pk, 0), reasons=reasons.get(line.pk, frozenset())),
                now=now,
                shop=shop,
                customer=customer,
            ),
        )
        for line in policy_lines(order)
    ]


def request_verdicts(request: ReturnRequest, *, now: datetime | None = None) -> list[tuple]:
    """What the policy says now about a request's own lines for its (kind, reason), as
    [(order line, quantity, Option or None, Refusal or None)] for the dashboard's review.

    The request's own units are not counted against it (else it would refuse itself as a duplicate,
    R-RET-13); a gift going back with its main line is judged by that line, as on submission."""
    order = request.case.order
    if order is None:
        return []
    now = now or timezone.now()
    wanted = {rl.order_line_id: rl.quantity for rl in request.lines.all()}
    own = {} if request.case.status in RELEASED_STATUSES else wanted
    requested = requested_quantities(order)
    shop, customer = shop_policy(), customer_facts(order.customer, now=now)
    lines = {line.pk: line for line in policy_lines(order)}
    result = []
    for pk, quantity in wanted.items():
        line = lines[pk]
        judged = lines[line.gift_of_id] if line.gift_of_id in wanted else line
        facts = line_facts(judged, requested=requested.get(judged.pk, 0) - own.get(judged.pk, 0))
        verdict = line_verdict(facts, now=now, shop=shop, customer=customer)
        kind, reason = request.case.kind, request.reason
        result.append((line, quantity, verdict.option(kind, reason), verdict.refusal(kind, reason)))
    return result
