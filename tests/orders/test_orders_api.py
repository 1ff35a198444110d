"""Customers read their own orders over the API; staff with orders.view_order read all (DOMAIN §8)."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from rest_framework.test import APIClient

from aftersales.cases.models import CaseKind
from aftersales.orders.api import OrderOutput
from aftersales.orders.models import Order, Parcel, PaymentMode
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def my_order(customer):
    order = factories.order_with_lines(customer=customer, lines=((Decimal("3999.00"), 1),), number="SO-MINE")
    main = order.lines.get()
    factories.add_gift(order, main=main, line_no=2, name="Charger")
    Parcel.objects.create(order=order, carrier="SF Express 顺丰", tracking_number="SF1234567890123")
    return order


@pytest.fixture
def their_order(other_customer):
    return factories.order_with_lines(customer=other_customer, number="SO-THEIRS", payment_mode=PaymentMode.COD)


def test_customer_lists_only_own_orders(api, customer, my_order, their_order):
    api.force_authenticate(customer)

    response = api.get("/api/v1/orders/")

    assert response.status_code == 200
    assert [o["number"] for o in response.json()["results"]] == ["SO-MINE"]


def test_customer_gets_another_customers_order_as_404(api, customer, their_order):
    api.force_authenticate(customer)

    assert api.get("/api/v1/orders/SO-THEIRS/").status_code == 404
    assert api.get("/api/v1/orders/SO-NONE/").status_code == 404


def test_R_ORD_1_order_detail_has_lines_gifts_parcels_milestones_and_status(api, customer, my_order):
    """R-ORD-1: order detail has lines gifts parcels milestones and status."""
    case = factories.open_case(customer=customer, order=my_order, kind=CaseKind.TICKET)
    factories.open_case(order=my_order, kind=CaseKind.TICKET)  # someone else's: not shown
    api.force_authenticate(customer)

    data = api.get("/api/v1/orders/SO-MINE/").json()

    assert data["status"] == "signed_for" and data["status_label"] == "Signed for"
    assert data["signed_for_at"] and data["left_warehouse_at"] and data["paid_at"]
    assert [(line["line_no"], line["is_gift"], line["gift_of_line_no"]) for line in data["lines"]] == [
        (1, False, None),
        (2, True, 1),
    ]
    assert data["lines"][1]["unit_price_paid"] == "0.00"
    assert data["parcels"] == [
        {"carrier": "SF Express 顺丰", "tracking_number": "SF1234567890123", "shipped_at": None, "signed_for_at": None}
    ]
    assert [c["number"] for c in data["cases"]] == [case.number]


def test_staff_list_all_orders_and_filter_them(api, agent, my_order, their_order, other_customer):
    api.force_authenticate(agent)

    everyone = api.get("/api/v1/orders/").json()["results"]
    by_email = api.get("/api/v1/orders/", {"customer": other_customer.email.upper()}).json()["results"]
    cod = api.get("/api/v1/orders/", {"payment_mode": "cod"}).json()["results"]
    detail = api.get("/api/v1/orders/SO-MINE/")

    assert {o["number"] for o in everyone} == {"SO-MINE", "SO-THEIRS"}
    assert [o["number"] for o in by_email] == ["SO-THEIRS"]
    assert [o["number"] for o in cod] == ["SO-THEIRS"]
    assert detail.status_code == 200


def test_bad_filter_is_a_400_with_field_errors(api, agent):
    api.force_authenticate(agent)

    response = api.get("/api/v1/orders/", {"payment_mode": "barter"})

    assert response.status_code == 400 and set(response.json()["fields"]) == {"payment_mode"}


def test_customer_filtering_by_another_email_sees_nothing(api, customer, their_order, other_customer):
    api.force_authenticate(customer)

    response = api.get("/api/v1/orders/", {"customer": other_customer.email})

    assert response.json()["results"] == []


def test_orders_api_needs_login(api, my_order):
    assert api.get("/api/v1/orders/").status_code == 401
    assert api.get("/api/v1/orders/SO-MINE/").status_code == 401


def test_orders_are_newest_first(api, customer):
    older = factories.order_with_lines(customer=customer)
    newer = factories.order_with_lines(customer=customer, placed_at=older.placed_at + timedelta(days=1))
    api.force_authenticate(customer)

    numbers = [o["number"] for o in api.get("/api/v1/orders/").json()["results"]]

    assert numbers == [newer.number, older.number]


def test_schema_lists_the_order_endpoints(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/storefront/orders/{number}" in schema.content and b"storefrontToken" in schema.content


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_list_rows_are_what_the_order_serializer_gives(api, customer, language):
    """The list builds its rows without OrderOutput (tests the two agree: fields, their order, formats)."""
    placed = timezone.now() - timedelta(days=3)
    factories.OrderFactory(
        customer=customer, placed_at=placed, paid_at=None, left_warehouse_at=None, signed_for_at=None
    )
    factories.OrderFactory(customer=customer, placed_at=placed, left_warehouse_at=None, signed_for_at=None)
    factories.OrderFactory(customer=customer, placed_at=placed, signed_for_at=None, is_b2b=True)
    factories.order_with_lines(customer=customer, lines=((Decimal("1999.90"), 3),), payment_mode=PaymentMode.COD)
    factories.OrderFactory(
        customer=customer,
        cancelled_at=placed + timedelta(hours=1),
        shipping_fee=Decimal("8.5"),
        paid_total=Decimal("8.5"),
    )
    api.force_authenticate(customer)

    rows = api.get("/api/v1/orders/", HTTP_ACCEPT_LANGUAGE=language).json()["results"]

    with translation.override(language):
        expected = OrderOutput(Order.objects.filter(customer=customer).order_by("-placed_at", "-id"), many=True).data
    assert [list(row.items()) for row in rows] == [list(row.items()) for row in json.loads(json.dumps(expected))]
    assert {row["status"] for row in rows} == {"placed", "paid", "shipped", "signed_for", "cancelled"}
