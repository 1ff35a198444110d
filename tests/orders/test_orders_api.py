"""Customers read their own orders over the API; staff with orders.view_order read all (DOMAIN §8)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from aftersales.cases.models import CaseKind
from aftersales.orders.models import Parcel, PaymentMode
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
