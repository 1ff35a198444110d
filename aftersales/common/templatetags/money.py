"""Money as people read it in the page's language (R-ORD-4): `{{ amount|money }}` (the shop's currency) or
`{{ amount|money:order.currency }}`. Two decimals, grouped the way the language groups them, and the
currency where the translation puts it: "1,999.00 CNY" in English, "¥1999.00" in Chinese."""

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.utils import formats
from django.utils.translation import pgettext, pgettext_lazy

register = template.Library()

# A currency with a format of its own; any other is written with its ISO code.
FORMATS = {
    "CNY": pgettext_lazy("money in Chinese yuan", "%(amount)s CNY"),
}


@register.filter
def money(amount, currency: str = "") -> str:
    if amount is None or amount == "":
        return ""
    try:
        amount = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        return str(amount)
    currency = currency or settings.SHOP_CURRENCY
    number = formats.number_format(amount, 2, use_l10n=True, force_grouping=True)
    if currency in FORMATS:
        return str(FORMATS[currency]) % {"amount": number}
    return pgettext("money", "%(amount)s %(currency)s") % {"amount": number, "currency": currency}
