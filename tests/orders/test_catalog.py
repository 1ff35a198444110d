"""Products and their price history from the storefront (R-ORD-3, R-ORD-4)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.orders.models import Brand, PriceChange, PriceKind, Product
from tests import factories

pytestmark = pytest.mark.django_db

PRODUCT = {
    "name": "Xiaomi 15 12GB+256GB",
    "brand": "Xiaomi",
    "category": "phones",
    "price": "4499.00",
    "warranty_months": 12,
    "is_electronics": True,
    "has_serial_number": True,
    "is_sealed": True,
}


@pytest.fixture
def phones(db):
    return factories.CategoryFactory(name="Phones", slug="phones")


def put(shop, sku, data):
    return shop.put(f"/api/v1/storefront/products/{sku}", data, format="json")


def price_change(shop, sku, data):
    return shop.post(f"/api/v1/storefront/products/{sku}/price-changes", data, format="json")


def test_R_ORD_3_product_upsert_creates_brand_and_starts_the_price_history(shop, phones):
    """R-ORD-3: product upsert creates brand and starts the price history."""
    response = put(shop, "XM-15", PRODUCT)

    assert response.status_code == 201
    product = Product.objects.get(sku="XM-15")
    assert product.brand == Brand.objects.get(name="Xiaomi") and product.category == phones
    assert product.price == Decimal("4499.00") and product.is_sealed and product.has_serial_number
    assert list(product.price_changes.values_list("price", "kind")) == [(Decimal("4499.00"), PriceKind.REGULAR)]
    assert response.json()["brand"] == "Xiaomi" and response.json()["category"] == "phones"


def test_R_RET_5_variants_share_a_model_code_from_the_storefront(shop, phones):
    """R-RET-5: the storefront groups variants by model, which is what an exchange may pick from."""
    put(shop, "XM-15-256", {**PRODUCT, "model_code": " XM15 "})
    response = put(shop, "XM-15-512", {**PRODUCT, "name": "Xiaomi 15 16GB+512GB", "model_code": "XM15"})
    assert response.status_code == 201 and response.json()["model_code"] == "XM15"
    assert set(Product.objects.filter(model_code="XM15").values_list("sku", flat=True)) == {"XM-15-256", "XM-15-512"}
    assert put(shop, "XM-15-1T", {**PRODUCT, "model_code": "x" * 65}).status_code == 400


def test_R_ORD_3_product_upsert_again_updates_and_records_a_price_change(shop, phones):
    """R-ORD-3: product upsert again updates and records a price change."""
    put(shop, "XM-15", PRODUCT)
    again = put(shop, "XM-15", PRODUCT)
    cheaper = put(shop, "XM-15", {**PRODUCT, "price": "4299.00", "active": False})

    assert again.status_code == 200 and cheaper.status_code == 200
    product = Product.objects.get(sku="XM-15")
    assert product.price == Decimal("4299.00") and not product.active
    assert list(product.price_changes.order_by("pk").values_list("price", "kind")) == [
        (Decimal("4499.00"), PriceKind.REGULAR),
        (Decimal("4299.00"), PriceKind.REGULAR),
    ]
    assert Product.objects.count() == 1 and Brand.objects.filter(name="Xiaomi").count() == 1


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"category": "no-such-category"}, {"category"}),
        ({"price": "-1.00"}, {"price"}),
        ({"price": "12.345"}, {"price"}),
        ({"name": ""}, {"name"}),
        ({"sku": "OTHER"}, {"sku"}),
    ],
    ids=["unknown-category", "negative-price", "three-decimals", "no-name", "sku-differs-from-url"],
)
def test_R_ORD_3_bad_product_gets_field_errors(shop, phones, change, fields):
    """R-ORD-3: bad product gets field errors."""
    response = put(shop, "XM-15", {**PRODUCT, **change})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == fields
    assert not Product.objects.exists()


def test_R_ORD_3_a_promotion_is_history_and_leaves_the_regular_price(shop, phones):
    """R-ORD-3: a promotion is history and leaves the regular price."""
    put(shop, "XM-15", PRODUCT)
    start = timezone.now() - timedelta(hours=1)

    response = price_change(
        shop,
        "XM-15",
        {
            "price": "3999.00",
            "kind": "flash_sale",
            "effective_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "note": "Singles' Day",
        },
    )

    assert response.status_code == 201 and response.json()["kind"] == "flash_sale"
    product = Product.objects.get(sku="XM-15")
    assert product.price == Decimal("4499.00")
    flash = product.price_changes.get(kind=PriceKind.FLASH_SALE)
    assert flash.price == Decimal("3999.00") and flash.ends_at == start + timedelta(hours=2)


def test_R_ORD_3_a_regular_price_in_effect_becomes_the_product_price(shop, phones):
    """R-ORD-3: a regular price in effect becomes the product price."""
    put(shop, "XM-15", PRODUCT)

    response = price_change(
        shop, "XM-15", {"price": "4199.00", "kind": "regular", "effective_at": timezone.now().isoformat()}
    )

    assert response.status_code == 201
    assert Product.objects.get(sku="XM-15").price == Decimal("4199.00")


def test_R_ORD_3_a_future_regular_price_is_only_history_for_now(shop, phones):
    """R-ORD-3: a future regular price is only history for now."""
    put(shop, "XM-15", PRODUCT)
    tomorrow = timezone.now() + timedelta(days=1)

    price_change(shop, "XM-15", {"price": "3999.00", "kind": "regular", "effective_at": tomorrow.isoformat()})

    product = Product.objects.get(sku="XM-15")
    assert product.price == Decimal("4499.00")
    assert product.price_changes.filter(price=Decimal("3999.00"), effective_at=tomorrow).exists()


def test_R_ORD_3_the_same_price_change_twice_is_stored_once(shop, phones):
    """R-ORD-3: the same price change twice is stored once."""
    put(shop, "XM-15", PRODUCT)
    data = {"price": "3888.00", "kind": "pricing_error", "effective_at": timezone.now().isoformat()}

    first, second = price_change(shop, "XM-15", data), price_change(shop, "XM-15", data)

    assert (first.status_code, second.status_code) == (201, 200)
    assert PriceChange.objects.filter(kind=PriceKind.PRICING_ERROR).count() == 1


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"price": "1.00", "kind": "bargain"}, {"kind"}),
        ({"price": "-1.00", "kind": "coupon"}, {"price"}),
        ({"price": "1.00", "kind": "coupon", "ends_at": "2020-01-01T00:00:00+08:00"}, {"ends_at"}),
        # Found by the API fuzz test: a year-1197 time was stored, then rendered with a "+08:05:43" offset.
        ({"price": "1.00", "kind": "coupon", "effective_at": "1197-11-21T10:48:23Z"}, {"effective_at"}),
        ({"price": "1.00", "kind": "coupon", "ends_at": "2100-01-01T00:00:00Z"}, {"ends_at"}),
    ],
    ids=["unknown-kind", "negative-price", "ends-before-start", "year-1197", "year-2100"],
)
def test_R_ORD_3_bad_price_change_gets_field_errors(shop, phones, data, fields):
    """R-ORD-3: bad price change gets field errors."""
    put(shop, "XM-15", PRODUCT)
    data = {"effective_at": timezone.now().isoformat(), **data}

    response = price_change(shop, "XM-15", data)

    assert response.status_code == 400 and set(response.json()["fields"]) == fields
    assert PriceChange.objects.count() == 1


def test_R_ORD_3_price_history_is_listed_newest_first(shop, phones):
    """R-ORD-3: price history is listed newest first."""
    put(shop, "XM-15", PRODUCT)
    price_change(
        shop,
        "XM-15",
        {"price": "4399.00", "kind": "coupon", "effective_at": (timezone.now() - timedelta(days=3)).isoformat()},
    )

    response = shop.get("/api/v1/storefront/products/XM-15/price-changes")

    assert response.status_code == 200
    assert [entry["kind"] for entry in response.json()] == ["regular", "coupon"]


def test_price_change_of_an_unknown_product_is_404(shop, phones):
    response = price_change(
        shop, "NOPE", {"price": "1.00", "kind": "regular", "effective_at": timezone.now().isoformat()}
    )
    assert response.status_code == 404


def test_product_api_needs_a_storefront_token(client, phones):
    assert client.put("/api/v1/storefront/products/XM-15", PRODUCT, content_type="application/json").status_code == 401
