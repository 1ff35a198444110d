from copy import deepcopy
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from aftersales.orders import services
from tests import factories

TOKEN = "test-storefront-token-0123456789"


@pytest.fixture
def storefront(db):
    storefront, _ = services.create_storefront(name="Test shop", token=TOKEN)
    return storefront


@pytest.fixture
def shop(storefront):
    """An API client authenticated as the storefront."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Storefront {TOKEN}")
    return client


@pytest.fixture
def products(db):
    return [
        factories.ProductFactory(sku="PHONE-1", name="Phone One", price=Decimal("3999.00")),
        factories.ProductFactory(sku="CASE-1", name="Phone case", price=Decimal("99.00")),
        factories.ProductFactory(sku="CHARGER-1", name="Charger", price=Decimal("149.00")),
    ]


def make_body(**overrides) -> dict:
    """A consistent order body: a phone (2 × 3999 − 300 discount), a case, and a charger given as a
    gift with the phone; 10.00 shipping."""
    placed = timezone.now() - timedelta(days=6)
    body = {
        "customer": {"email": "wang.fang@example.cn", "full_name": "王芳", "phone": "13800138000", "region": "上海市"},
        "payment_mode": "prepaid",
        "is_b2b": False,
        "currency": "CNY",
        "placed_at": placed.isoformat(),
        "paid_at": (placed + timedelta(minutes=5)).isoformat(),
        "left_warehouse_at": (placed + timedelta(days=1)).isoformat(),
        "signed_for_at": (placed + timedelta(days=3)).isoformat(),
        "cancelled_at": None,
        "shipping_address": "上海市徐汇区漕溪北路 88 号",
        "goods_total": "8246.00",
        "discount_total": "449.00",
        "shipping_fee": "10.00",
        "paid_total": "7807.00",
        "lines": [
            {
                "line_no": 1,
                "sku": "PHONE-1",
                "quantity": 2,
                "unit_price": "3999.00",
                "discount": "300.00",
                "paid_amount": "7698.00",
            },
            {
                "line_no": 2,
                "sku": "CASE-1",
                "quantity": 1,
                "unit_price": "99.00",
                "discount": "0.00",
                "paid_amount": "99.00",
            },
            {
                "line_no": 3,
                "sku": "CHARGER-1",
                "quantity": 1,
                "unit_price": "149.00",
                "discount": "149.00",
                "paid_amount": "0.00",
                "gift_of_line_no": 1,
            },
        ],
        "parcels": [
            {
                "carrier": "SF Express",
                "tracking_number": "SF1234567890123",
                "shipped_at": (placed + timedelta(days=1)).isoformat(),
                "signed_for_at": (placed + timedelta(days=3)).isoformat(),
            },
        ],
    }
    body = deepcopy(body)
    body.update(overrides)
    return body


@pytest.fixture
def body():
    return make_body()
