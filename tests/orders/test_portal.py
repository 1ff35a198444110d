"""Portal pages: my orders and an order's detail; another customer's order is a 404 (DOMAIN §8)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from aftersales.cases.models import CaseKind
from aftersales.orders.models import Parcel, PaymentMode
from aftersales.orders.views import ORDERS_PER_PAGE
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def my_order(customer):
    order = factories.order_with_lines(
        customer=customer, lines=((Decimal("3999.00"), 2), (Decimal("99.00"), 1)), number="SO-PORTAL"
    )
    main = order.lines.get(line_no=1)
    factories.add_gift(order, main=main, line_no=3, name="Gift charger")
    Parcel.objects.create(order=order, carrier="JD Logistics 京东物流", tracking_number="JDV000111222333")
    return order


def test_order_list_shows_my_orders_newest_first_with_status_total_and_sign_for(client, customer, my_order):
    older = factories.order_with_lines(
        customer=customer, number="SO-OLDER", placed_at=my_order.placed_at - timedelta(days=10), signed_for_at=None
    )
    factories.order_with_lines(number="SO-NOT-MINE")
    client.force_login(customer)

    response = client.get(reverse("portal:order-list"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "SO-NOT-MINE" not in html
    assert html.index("SO-PORTAL") < html.index(older.number)
    assert "8,097.00" in html  # 2 × 3999 + 99
    assert my_order.signed_for_at.astimezone().strftime("%Y-%m-%d") in html
    assert "Signed for" in html and "Left the warehouse" in html
    # Items: the first line's name, then how many more lines (the gift counts).
    first, only = my_order.lines.get(line_no=1).product_name, older.lines.get().product_name
    assert f'{first} <span class="muted">and 2 more items</span></td>' in html
    assert f">{only}</td>" in html


def test_order_list_is_paginated(client, customer):
    for _ in range(ORDERS_PER_PAGE + 1):
        factories.order_with_lines(customer=customer)
    client.force_login(customer)

    first = client.get(reverse("portal:order-list"))
    second = client.get(reverse("portal:order-list"), {"page": 2})

    assert len(first.context["page"].object_list) == ORDERS_PER_PAGE
    assert len(second.context["page"].object_list) == 1


def test_R_ORD_1_order_detail_shows_lines_gifts_under_their_main_line_parcels_and_cases(client, customer, my_order):
    """R-ORD-1: order detail shows lines gifts under their main line parcels and cases."""
    case = factories.open_case(customer=customer, order=my_order, kind=CaseKind.RETURN)
    hidden = factories.open_case(order=my_order, kind=CaseKind.TICKET)  # another customer's case
    client.force_login(customer)

    response = client.get(reverse("portal:order-detail", args=["SO-PORTAL"]))

    assert response.status_code == 200
    groups = response.context["line_groups"]
    assert [(line.line_no, [g.line_no for g in gifts]) for line, gifts in groups] == [(1, [3]), (2, [])]
    html = response.content.decode()
    assert html.index(my_order.lines.get(line_no=1).product_name) < html.index("Gift charger")
    assert html.index("Gift charger") < html.index(my_order.lines.get(line_no=2).product_name)
    assert "JDV000111222333" in html and "JD Logistics 京东物流" in html
    assert reverse("portal:case-detail", args=[case.number]) in html
    assert hidden.number not in html
    assert "3,999.00" in html


def test_another_customers_order_is_404_in_the_portal(client, customer, other_customer):
    theirs = factories.order_with_lines(customer=other_customer)
    client.force_login(customer)

    assert client.get(reverse("portal:order-detail", args=[theirs.number])).status_code == 404


def test_staff_can_open_any_order_in_the_portal(client, agent, my_order):
    client.force_login(agent)

    assert client.get(reverse("portal:order-detail", args=[my_order.number])).status_code == 200


def test_pickup_order_says_picked_up(client, customer):
    order = factories.order_with_lines(customer=customer, payment_mode=PaymentMode.PICKUP)
    client.force_login(customer)

    html = client.get(reverse("portal:order-detail", args=[order.number])).content.decode()

    assert "Picked up" in html and "Self pickup: no parcels." in html


def test_portal_needs_login(client, my_order):
    response = client.get(reverse("portal:order-list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_home_redirects_to_my_orders(client, customer):
    client.force_login(customer)
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:order-list")
