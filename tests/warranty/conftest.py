from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.orders.models import Category
from tests import factories
from warranty.models import ServiceCentre

ALL_DOCUMENTS = ["original_invoice", "warranty_card", "accessories", "packaging", "manual"]


@pytest.fixture
def technician(db):
    return factories.StaffFactory(role="technician")


@pytest.fixture
def tv_order(customer):
    """A television signed for 20 days ago: only a repair is open (R-RET-2)."""
    return tv_order_for(customer, days_ago=20)


def tv_order_for(customer, *, days_ago=20, price=Decimal("3999.00")):
    order = factories.order_with_lines(
        customer=customer, lines=((price, 1),), signed_for_at=timezone.now() - timedelta(days=days_ago)
    )
    product = order.lines.get().product
    product.category = Category.objects.get_or_create(slug="tvs", defaults={"name": "TVs"})[0]
    product.save(update_fields=["category"])
    return order


@pytest.fixture
def centre(db):
    centre = ServiceCentre.objects.create(
        name="Shanghai Xuhui service centre", regions=["上海"], address="上海市徐汇区 1 号", on_site=True
    )
    centre.brands.add(factories.BrandFactory(name="Another brand"))
    return centre
