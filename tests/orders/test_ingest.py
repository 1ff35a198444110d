"""The storefront order ingest (R-ORD-3): authenticated, idempotent, validated field by field."""

from copy import deepcopy
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from aftersales.accounts.models import User
from aftersales.finance.services import request_refund
from aftersales.orders import services
from aftersales.orders.models import Order, OrderLine, Parcel
from tests import factories
from tests.orders.conftest import TOKEN, make_body

URL = "/api/v1/storefront/orders/{}"

pytestmark = pytest.mark.django_db


def put(client, number, body):
    return client.put(URL.format(number), body, format="json")


def test_R_ORD_3_same_order_pushed_twice_is_stored_once(shop, products, body):
    """R-ORD-3: same order pushed twice is stored once."""
    first = put(shop, "SO-1001", body)
    assert first.status_code == 201
    assert first.json()["created"] is True and first.json()["changed"] is True

    second = put(shop, "SO-1001", body)
    assert second.status_code == 200
    assert second.json()["created"] is False and second.json()["changed"] is False
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 3 and Parcel.objects.count() == 1
    assert User.objects.filter(email="wang.fang@example.cn").count() == 1


def test_R_ORD_3_same_order_in_other_spelling_is_still_a_no_op(shop, products, body):
    """Key order, "3999" vs "3999.00" and the time zone of a timestamp do not make a new body."""
    put(shop, "SO-1002", body)
    respelled = deepcopy(body)
    respelled["lines"] = list(reversed(respelled["lines"]))
    respelled["lines"][-1]["unit_price"] = "3999"
    respelled["placed_at"] = parse_datetime(body["placed_at"]).astimezone(UTC).isoformat()

    response = put(shop, "SO-1002", respelled)

    assert response.status_code == 200 and response.json()["changed"] is False


def test_R_ORD_1_stored_order_has_lines_gifts_and_the_customer(shop, products, body, storefront):
    """R-ORD-1: stored order has lines gifts and the customer."""
    response = put(shop, "SO-1003", body)

    order = Order.objects.get(number="SO-1003")
    assert order.storefront == storefront and order.source_digest
    assert (order.goods_total, order.discount_total, order.paid_total) == (
        Decimal("8246.00"),
        Decimal("449.00"),
        Decimal("7807.00"),
    )
    gift = order.lines.get(line_no=3)
    assert gift.gift_of == order.lines.get(line_no=1) and gift.paid_amount == Decimal("0.00")
    customer = order.customer
    assert customer.has_role("customer") and not customer.has_usable_password()
    assert (customer.full_name, customer.phone, customer.region) == ("王芳", "13800138000", "上海市")
    data = response.json()
    assert data["status"] == "signed_for"
    assert [line["gift_of_line_no"] for line in data["lines"]] == [None, None, 1]
    assert data["lines"][0]["unit_price_paid"] == "3849.00"


def test_R_ORD_3_changed_body_updates_the_order_in_place(shop, products, body):
    """R-ORD-3: changed body updates the order in place."""
    put(shop, "SO-1004", body)
    order = Order.objects.get(number="SO-1004")
    phone_line_id = order.lines.get(line_no=1).pk
    changed = deepcopy(body)
    # Two phone cases instead of one, no gift charger any more, free shipping.
    changed["lines"] = changed["lines"][:2]
    changed["lines"][1].update(quantity=2, paid_amount="198.00")
    changed.update(goods_total="8196.00", discount_total="300.00", shipping_fee="0.00", paid_total="7896.00")
    changed["parcels"][0]["tracking_number"] = "SF9999999999999"

    response = put(shop, "SO-1004", changed)

    assert response.status_code == 200 and response.json()["changed"] is True
    order.refresh_from_db()
    assert Order.objects.count() == 1
    assert order.paid_total == Decimal("7896.00") and order.shipping_fee == Decimal("0.00")
    assert list(order.lines.values_list("line_no", "quantity")) == [(1, 2), (2, 2)]
    assert order.lines.get(line_no=1).pk == phone_line_id  # updated, not replaced
    assert list(order.parcels.values_list("tracking_number", flat=True)) == ["SF9999999999999"]


def test_R_RET_13_a_push_cannot_lower_paid_total_below_the_refunds_already_granted(shop, products, body):
    """R-RET-13: a 400 on paid_total (the database trigger would refuse it too), the order unchanged."""
    put(shop, "SO-1013", body)
    order = Order.objects.get(number="SO-1013")
    request_refund(order=order, source="goodwill", amount=Decimal("7800.00"), idempotency_key="so-1013")
    response = put(shop, "SO-1013", {**body, "shipping_fee": "0.00", "paid_total": "7797.00"})
    assert response.status_code == 400 and "paid_total" in response.json()["fields"], response.json()
    order.refresh_from_db()
    assert order.paid_total == Decimal("7807.00")
    assert put(shop, "SO-1013", {**body, "shipping_fee": "3.00", "paid_total": "7800.00"}).status_code == 200


def test_R_ORD_2_a_push_without_milestones_does_not_clear_stored_ones(shop, products, body):
    """R-ORD-2: a push without milestones does not clear stored ones."""
    put(shop, "SO-1005", body)
    later = make_body(signed_for_at=None, shipping_address="改地址")

    put(shop, "SO-1005", later)

    order = Order.objects.get(number="SO-1005")
    assert order.signed_for_at == parse_datetime(body["signed_for_at"])
    assert order.shipping_address == "改地址"


def _remove_gift(body):
    body["lines"] = body["lines"][:2]
    body.update(goods_total="8097.00", discount_total="300.00", paid_total="7807.00")


def _duplicate_line_no(body):
    body["lines"][1]["line_no"] = 1


def _gift_of_missing_line(body):
    body["lines"][2]["gift_of_line_no"] = 9


def _gift_of_itself(body):
    body["lines"][2]["gift_of_line_no"] = 3


def _gift_of_a_gift(body):
    body["lines"].append(
        {
            "line_no": 4,
            "sku": "CASE-1",
            "quantity": 1,
            "unit_price": "99.00",
            "discount": "99.00",
            "paid_amount": "0.00",
            "gift_of_line_no": 3,
        }
    )
    body.update(goods_total="8345.00", discount_total="548.00")


@pytest.mark.parametrize(
    ("mistake", "fields"),
    [
        (lambda b: b.update(goods_total="8000.00"), {"goods_total"}),
        (lambda b: b.update(discount_total="400.00"), {"discount_total"}),
        (lambda b: b.update(paid_total="7800.00"), {"paid_total"}),
        (lambda b: b.update(goods_total="8246.001"), {"goods_total"}),
        (lambda b: b["lines"][1].update(paid_amount="98.00"), {"lines.1.paid_amount"}),
        (lambda b: b["lines"][1].update(sku="NO-SUCH-SKU"), {"lines.1.sku"}),
        (lambda b: b.update(payment_mode="credit"), {"payment_mode"}),
        (lambda b: b["lines"][0].update(quantity=-2), {"lines.0.quantity"}),
        (lambda b: b["lines"][0].update(discount="-1.00"), {"lines.0.discount"}),
        (_duplicate_line_no, {"lines.1.line_no"}),
        (_gift_of_missing_line, {"lines.2.gift_of_line_no"}),
        (_gift_of_itself, {"lines.2.gift_of_line_no"}),
        (_gift_of_a_gift, {"lines.3.gift_of_line_no"}),
        (lambda b: b.update(lines=[]), {"lines"}),
        (lambda b: b.update(customer={"email": "not-an-email"}), {"customer.email"}),
        (lambda b: b.update(currency="yuan"), {"currency"}),
        (lambda b: b.update(placed_at="yesterday"), {"placed_at"}),
        (lambda b: b.update(paid_at="2000-01-01T00:00:00+08:00"), {"paid_at"}),
        (
            lambda b: b.update(signed_for_at=b["left_warehouse_at"], left_warehouse_at=b["signed_for_at"]),
            {"signed_for_at"},
        ),
        (lambda b: b.update(signed_for_at=(timezone.now() + timedelta(days=2)).isoformat()), {"signed_for_at"}),
        (lambda b: b["parcels"].append(dict(b["parcels"][0])), {"parcels.1.tracking_number"}),
        (lambda b: b.update(number="SO-OTHER"), {"number"}),
    ],
    ids=[
        "goods-total",
        "discount-total",
        "paid-total",
        "three-decimals",
        "line-paid-amount",
        "unknown-sku",
        "bad-payment-mode",
        "negative-quantity",
        "negative-discount",
        "duplicate-line-no",
        "gift-of-missing-line",
        "gift-of-itself",
        "gift-of-a-gift",
        "no-lines",
        "bad-email",
        "bad-currency",
        "bad-timestamp",
        "paid-before-placed",
        "signed-before-left-warehouse",
        "signed-in-the-future",
        "duplicate-parcel",
        "number-differs-from-url",
    ],
)
def test_R_ORD_3_malformed_push_gets_field_errors_and_stores_nothing(shop, products, body, mistake, fields):
    """R-ORD-3: malformed push gets field errors and stores nothing."""
    mistake(body)

    response = put(shop, "SO-2001", body)

    assert response.status_code == 400, response.content
    data = response.json()
    assert data["code"] == "invalid"
    assert set(data["fields"]) == fields, data
    assert all(isinstance(m, str) and m for messages in data["fields"].values() for m in messages)
    assert not Order.objects.exists()


def test_R_ORD_3_customer_of_an_existing_order_cannot_change(shop, products, body):
    """R-ORD-3: customer of an existing order cannot change."""
    put(shop, "SO-1006", body)
    body["customer"] = {"email": "someone.else@example.com", "full_name": "Someone Else"}

    response = put(shop, "SO-1006", body)

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"customer.email"}
    assert Order.objects.get(number="SO-1006").customer.email == "wang.fang@example.cn"
    assert not User.objects.filter(email="someone.else@example.com").exists()


def test_R_ORD_3_customer_email_is_matched_case_insensitively(shop, products, body, customer):
    """R-ORD-3: customer email is matched case insensitively."""
    body["customer"]["email"] = customer.email.upper()

    put(shop, "SO-1007", body)

    assert Order.objects.get(number="SO-1007").customer == customer


def test_R_ORD_3_another_storefront_cannot_overwrite_an_order(shop, products, body):
    """R-ORD-3: another storefront cannot overwrite an order."""
    put(shop, "SO-1008", body)
    services.create_storefront(name="Other shop", token="other-shop-token-0123456789")
    body["shipping_address"] = "hijacked"

    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION="Storefront other-shop-token-0123456789")

    response = put(other, "SO-1008", body)

    assert response.status_code == 400 and set(response.json()["fields"]) == {"number"}
    assert Order.objects.get(number="SO-1008").shipping_address != "hijacked"


@pytest.mark.parametrize(
    "header",
    [None, "Storefront wrong-token", "Bearer wrong-token", "Storefront", "Token " + TOKEN, "Storefront a b"],
    ids=["missing", "wrong", "wrong-bearer", "no-token", "other-scheme", "extra-parts"],
)
def test_R_ORD_3_push_without_a_valid_storefront_token_is_401(client, storefront, products, body, header):
    """R-ORD-3: push without a valid storefront token is 401."""
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = client.put(URL.format("SO-3001"), body, content_type="application/json", **extra)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Storefront")
    assert not Order.objects.exists()


def test_R_ORD_3_bearer_token_is_accepted(client, storefront, products, body):
    """R-ORD-3: bearer token is accepted."""
    response = client.put(
        URL.format("SO-3002"), body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
    )

    assert response.status_code == 201


def test_R_ORD_3_an_inactive_storefront_is_refused(shop, storefront, products, body):
    """R-ORD-3: an inactive storefront is refused."""
    storefront.active = False
    storefront.save()

    assert put(shop, "SO-3003", body).status_code == 401


def test_R_ORD_3_a_logged_in_staff_user_is_not_a_storefront(client, supervisor, products, body):
    """R-ORD-3: a logged in staff user is not a storefront."""
    client.force_login(supervisor)

    response = client.put(URL.format("SO-3004"), body, content_type="application/json")

    assert response.status_code == 401
    assert not Order.objects.exists()


def test_only_the_token_hash_is_stored(storefront):
    assert storefront.token_sha256 != TOKEN and len(storefront.token_sha256) == 64
    assert storefront.token_hint == TOKEN[:8]


def test_R_ORD_4_amounts_are_exact_decimals(shop, body):
    """0.10 × 3 is 0.30 exactly, even when the storefront sends JSON numbers."""
    factories.ProductFactory(sku="STICKER", price=Decimal("0.10"))
    body["lines"] = [{"line_no": 1, "sku": "STICKER", "quantity": 3, "unit_price": 0.1, "paid_amount": 0.3}]
    body.update(goods_total=0.3, discount_total=0, shipping_fee=0.1, paid_total=0.4)

    response = put(shop, "SO-4001", body)

    assert response.status_code == 201, response.content
    order = Order.objects.get(number="SO-4001")
    assert (order.goods_total, order.paid_total) == (Decimal("0.30"), Decimal("0.40"))
    assert response.json()["paid_total"] == "0.40"
