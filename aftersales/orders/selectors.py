"""Reads on orders and the catalog shared by the API, the portal and the storefront ingest.

Customers only ever get their own orders: every customer-facing queryset starts from
`orders_visible_to(user)`, so a foreign order number is simply not found (a 404)."""

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .models import Order, OrderLine, PriceChange, Product, Storefront


def can_view_all_orders(user) -> bool:
    return user.is_authenticated and user.is_staff and user.has_perm("orders.view_order")


def orders_visible_to(user) -> QuerySet[Order]:
    qs = Order.objects.select_related("customer")
    if not user.is_authenticated:
        return qs.none()
    if can_view_all_orders(user):
        return qs
    return qs.filter(customer=user)


def order_list(*, user, customer_email: str = "", payment_mode: str = "") -> QuerySet[Order]:
    """Newest first. The customer filter only narrows what the user may see anyway."""
    qs = orders_visible_to(user)
    if customer_email:
        qs = qs.filter(customer__email__iexact=customer_email.strip())
    if payment_mode:
        qs = qs.filter(payment_mode=payment_mode)
    return qs.order_by("-placed_at", "-id")


def order_list_with_items(*, user) -> QuerySet[Order]:
    """The portal's my orders: each order with its first item's name and its number of lines, read with
    the orders (the page shows no more of the lines)."""
    lines = OrderLine.objects.filter(order=OuterRef("pk"))
    return order_list(user=user).annotate(
        first_item=Subquery(lines.order_by("line_no").values("product_name")[:1]),
        line_count=Coalesce(Subquery(lines.order_by().values("order").annotate(n=Count("pk")).values("n")), 0),
    )


def _with_detail(qs: QuerySet[Order]) -> QuerySet[Order]:
    return qs.prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("product", "gift_of").order_by("line_no")),
        "parcels",
    )


def order_detail_queryset(user) -> QuerySet[Order]:
    return _with_detail(orders_visible_to(user))


def order_lines_grouped(order: Order) -> list[tuple[OrderLine, list[OrderLine]]]:
    """R-ORD-1: (main line, its gifts) pairs in line order; a gift is shown under its main line."""
    lines = list(order.lines.all())
    gifts: dict[int, list[OrderLine]] = {}
    for line in lines:
        if line.gift_of_id is not None:
            gifts.setdefault(line.gift_of_id, []).append(line)
    return [(line, gifts.get(line.pk, [])) for line in lines if line.gift_of_id is None]


def order_cases(*, user, order: Order):
    """The order's after-sales cases that `user` may see, newest first."""
    from aftersales.cases.selectors import cases_visible_to

    return cases_visible_to(user).filter(order=order).order_by("-opened_at", "-id")


def storefront_order(*, storefront: Storefront, number: str) -> Order | None:
    """An order the storefront may write: its own, or one no storefront has claimed."""
    return (
        Order.objects.filter(number=number)
        .filter(Q(storefront=storefront) | Q(storefront__isnull=True))
        .select_related("customer")
        .first()
    )


def order_with_detail(order: Order) -> Order:
    """The order as stored now, lines and parcels loaded (for the storefront's responses)."""
    return _with_detail(Order.objects.select_related("customer")).get(pk=order.pk)


def product_by_sku(sku: str) -> Product | None:
    return Product.objects.select_related("brand", "category").filter(sku=sku).first()


def price_history(product: Product) -> QuerySet[PriceChange]:
    return product.price_changes.order_by("-effective_at", "-id")
