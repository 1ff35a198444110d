from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.orders.models import PriceChange, PriceKind
from tests import factories


@pytest.fixture
def finance(db):
    return factories.StaffFactory(role="finance")


def in_transit_order(customer, *, unit_price=Decimal("1999.00"), quantity=1, payment_mode="prepaid", **kwargs):
    """Paid two days ago, shipped yesterday, not signed for yet: inside the window (R-PP-2)."""
    placed = timezone.now() - timedelta(days=2)
    values = {
        "placed_at": placed,
        "paid_at": placed if payment_mode == "prepaid" else None,
        "left_warehouse_at": placed + timedelta(days=1),
        "signed_for_at": None,
        "payment_mode": payment_mode,
    }
    return factories.order_with_lines(customer=customer, lines=((unit_price, quantity),), **{**values, **kwargs})


def price(product, amount, *, kind=PriceKind.REGULAR, ago=timedelta(hours=1), ends_in=None) -> PriceChange:
    """A price-history entry that took effect `ago` (after the orders above were paid)."""
    now = timezone.now()
    entry = PriceChange.objects.create(
        product=product,
        price=Decimal(amount),
        kind=kind,
        effective_at=now - ago,
        ends_at=now + ends_in if ends_in else None,
    )
    if kind == PriceKind.REGULAR:
        product.price = Decimal(amount)
        product.save(update_fields=["price"])
    return entry
