"""The price-protection panel of the core order page (`templates/priceprotect/_order_panel.html`,
included by `templates/orders/order_detail.html`, whose view knows nothing of price protection)."""

from django import template

from ..overview import OrderOverview, order_overview

register = template.Library()


@register.simple_tag
def price_protection(order) -> OrderOverview:
    return order_overview(order)


@register.simple_tag
def can_claim(overview: OrderOverview, user) -> bool:
    return overview.can_claim(user)
