"""The price-drop sweep's batches: each reads only the orders after the last one it handled, and a
re-run after a crash skips the orders told already, wherever they fall among the batches."""

from decimal import Decimal

import pytest

from aftersales.orders.models import PriceChange
from priceprotect import services
from priceprotect.models import Claim, PriceDropOffer, PriceProtectionSettings
from tests import factories
from tests.priceprotect.conftest import in_transit_order, price

pytestmark = pytest.mark.django_db


def test_a_rerun_in_batches_skips_the_orders_told_before_and_reaches_every_other():
    PriceProtectionSettings.objects.update_or_create(pk=1, defaults={"claim_automatically": True})
    product = factories.ProductFactory(price=Decimal("1999.00"))
    orders = []
    for _ in range(7):
        order = in_transit_order(factories.CustomerFactory())
        order.lines.update(product=product)
        orders.append(order)
    entry: PriceChange = price(product, "1899.00")
    told = [orders[1], orders[4], orders[6]]  # an earlier run told these, then crashed
    PriceDropOffer.objects.bulk_create(PriceDropOffer(order=o, price_change=entry, amount=100) for o in told)

    assert services.sweep_price_drop(entry_id=entry.pk, batch_size=2) == 4
    assert set(Claim.objects.values_list("order_id", flat=True)) == {o.pk for o in orders if o not in told}
    assert services.sweep_price_drop(entry_id=entry.pk, batch_size=2) == 0
