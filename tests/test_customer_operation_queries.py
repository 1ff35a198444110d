"""The customer operations the HTTP bench measures (bench/load.py PATHS), asked as it asks them: the API with
a customer's token, the portal with a session. Each runs exactly QUERIES, however many lines, gifts, orders,
requests, events or photos there are (each is asked once more after adding many). Every operation is asked
once before it is counted, so the settings row its first visit creates is left out.

Lower a number when an operation gets cheaper; raise one only with the reason, never for a count that grows."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from aftersales.cases import services as case_services
from aftersales.cases.attachments import add_attachment
from bench.load import PATHS
from returns import services as returns
from tests import factories
from tests.cases.test_attachments import photo

pytestmark = pytest.mark.django_db

QUERIES = {
    # token (with its user); the order; what its lines are already in; the customer's requests; the lines
    # with their products (a customer with no request yet: their orders are counted too, one more)
    "options": 5,
    # token; a page of orders (no COUNT: they fit on it)
    "orders": 2,
    # token; the case with its order; its photos; its events with their actors
    "timeline": 4,
    # session; user; unread notifications; a page of orders with their first item and number of lines
    "portal": 4,
    # token; the order; its lines; then in a transaction (its BEGIN and COMMIT, or a test's savepoint, count):
    # the order locked, what its lines are in, the customer's requests, the lines with their products, what
    # the order can still refund, the case and its first event in a savepoint (the case number: one UPDATE …
    # RETURNING), the request, its lines; after it, the case as stored and what price protection took back
    "create": 19,
    # the same, approved at once (R-RET-15) in its own savepoints: the request read and its ship deadline
    # saved, the move to awaiting the parcel, its event, the customer's notification, the flag saved
    "create (approved at once)": 29,
}
RESALEABLE = {"accessories_complete": True, "water_exposure": False}


@pytest.fixture
def api(customer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=customer).key}")
    return client


def signed_order(customer, price="1999.00", quantity=2):
    return factories.order_with_lines(
        customer=customer, lines=((Decimal(price), quantity),), signed_for_at=timezone.now() - timedelta(days=1)
    )


def add_lines(order, n: int) -> None:
    """n more lines on the order, each with a gift (R-ORD-1)."""
    for _ in range(n):
        line = factories.add_line(order, product=factories.ProductFactory(price=Decimal("299.00")))
        factories.add_gift(order, main=line, line_no=line.line_no + 1)


def submit(customer, order, line_no=1, reason="no_reason"):
    return returns.submit_request(
        customer=customer,
        order=order,
        kind="return",
        reason=reason,
        lines=[{"line": order.lines.get(line_no=line_no), "quantity": 1}],
        condition=RESALEABLE,
    )


def counted(client, django_assert_num_queries, name, method, url, **kwargs):
    with django_assert_num_queries(QUERIES[name], info=name):
        response = getattr(client, method)(url, **kwargs)
    assert response.status_code in (200, 201), (name, response.status_code, response.content[:300])
    return response


def test_options_of_an_order(api, customer, django_assert_num_queries):
    order = signed_order(customer)
    submit(customer, order)
    url = PATHS["options"].format(order=order.number)
    api.get(url)
    counted(api, django_assert_num_queries, "options", "get", url)

    add_lines(order, 10)
    for line_no in (2, 4, 6):  # main lines (each followed by its gift)
        submit(customer, order, line_no=line_no)
    submit(customer, signed_order(customer), reason="not_as_described")
    body = counted(api, django_assert_num_queries, "options", "get", url).json()
    assert len(body["lines"]) == 21 and body["lines"][0]["returnable_quantity"] == 1


def test_a_customers_orders(api, customer, django_assert_num_queries):
    signed_order(customer)
    api.get(PATHS["orders"])
    counted(api, django_assert_num_queries, "orders", "get", PATHS["orders"])

    for _ in range(30):
        add_lines(signed_order(customer), 2)
    body = counted(api, django_assert_num_queries, "orders", "get", PATHS["orders"]).json()
    assert body["count"] == 31 and len(body["results"]) == 31


def test_a_case_with_its_timeline(api, customer, agent, django_assert_num_queries):
    case = submit(customer, signed_order(customer))
    url = PATHS["timeline"].format(case=case.number)
    api.get(url)
    counted(api, django_assert_num_queries, "timeline", "get", url)

    for k in range(10):
        case_services.add_note(case=case, actor=customer, note=f"Question {k}", public=True)
        case_services.add_note(case=case, actor=agent, note=f"Internal {k}", public=False)
    for _ in range(3):
        add_attachment(case=case, uploaded_by=customer, upload=photo())
    body = counted(api, django_assert_num_queries, "timeline", "get", url).json()
    assert len(body["attachments"]) == 3 and "Question 9" in json.dumps(body) and "Internal" not in json.dumps(body)


def test_the_portals_my_orders_page(client, customer, django_assert_num_queries):
    signed_order(customer)
    client.force_login(customer)
    client.get(PATHS["portal"])
    counted(client, django_assert_num_queries, "portal", "get", PATHS["portal"])

    for _ in range(18):  # 19 orders: still one page
        add_lines(signed_order(customer), 2)
    html = counted(client, django_assert_num_queries, "portal", "get", PATHS["portal"]).content.decode()
    assert html.count("and 4 more items") == 18


@pytest.mark.parametrize(("name", "price"), [("create", "1999.00"), ("create (approved at once)", "99.00")])
def test_creating_a_return(api, customer, django_assert_num_queries, name, price):
    def body(order) -> dict:
        line = order.lines.get(line_no=1)
        return {
            "order": order.number,
            "kind": "return",
            "reason": "no_reason",
            "lines": [{"line_id": line.pk, "quantity": 1}],
            "condition": RESALEABLE,
        }

    api.post(PATHS["create"], body(signed_order(customer, price)), format="json")
    response = counted(
        api,
        django_assert_num_queries,
        name,
        "post",
        PATHS["create"],
        data=body(signed_order(customer, price)),
        format="json",
    )
    assert response.json()["auto_approved"] is (name != "create")

    big = signed_order(customer, price)
    add_lines(big, 10)
    for _ in range(5):
        submit(customer, signed_order(customer), reason="not_as_described")
    response = counted(api, django_assert_num_queries, name, "post", PATHS["create"], data=body(big), format="json")
    assert response.json()["auto_approved"] is (name != "create")
