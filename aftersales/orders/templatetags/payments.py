from django import template

register = template.Library()


@register.simple_tag
def payment_link(case, amount) -> str:
    """The order's storefront payment page for `amount` due on `case`, or "" (no storefront, no page)."""
    order = case.order
    if not amount or order is None or order.storefront_id is None:
        return ""
    return order.storefront.payment_link(order=order.number, case=case.number, amount=amount, currency=order.currency)
