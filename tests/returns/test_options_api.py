"""GET /api/v1/orders/{number}/options/: the contract the storefront relies on."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from aftersales.orders.models import Category
from returns import selectors
from returns import services as returns
from returns.api import OrderOptionsOutput
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_options_contract_shape_and_values(api, customer):
    """R-RET-15: each line lists its open options and its refusals with rule ids."""
    order = factories.order_with_lines(
        customer=customer, lines=((Decimal("1999.00"), 1),), signed_for_at=timezone.now() - timedelta(days=2)
    )
    main = order.lines.get()
    factories.add_gift(order, main=main, line_no=2)
    api.force_authenticate(customer)
    body = api.get(reverse("api-order-options", args=[order.number])).json()
    assert body["order"] == order.number
    first, gift = body["lines"]
    assert set(first) == {"line_id", "sku", "name", "quantity", "returnable_quantity", "options", "refused"}
    assert first["line_id"] == main.pk and first["returnable_quantity"] == 1
    no_reason = next(o for o in first["options"] if o["kind"] == "return" and o["reason"] == "no_reason")
    assert set(no_reason) == {
        "kind",
        "reason",
        "open_until",
        "return_shipping_paid_by",
        "photos_required",
        "report_required",
    }
    assert no_reason["return_shipping_paid_by"] == "shop"  # first-time buyer (R-RET-12)
    assert no_reason["open_until"].endswith("23:59:59.999999+08:00")
    assert {r["rule"] for r in first["refused"]} >= {"R-RET-14"}
    assert gift["options"] == [] and {r["rule"] for r in gift["refused"]} == {"R-RET-13"}


def test_never_returnable_category_is_refused_with_R_RET_7(api, customer):
    """R-RET-7 through the API."""
    order = factories.order_with_lines(customer=customer, signed_for_at=timezone.now() - timedelta(days=1))
    Category.objects.filter(products__order_lines__order=order).update(never_returnable_kind="jewelry")
    api.force_authenticate(customer)
    line = api.get(reverse("api-order-options", args=[order.number])).json()["lines"][0]
    refusal = next(r for r in line["refused"] if r["kind"] == "return" and r["reason"] == "no_reason")
    assert refusal["rule"] == "R-RET-7" and refusal["message"]


def test_another_customers_order_options_are_404(api, customer, other_customer):
    order = factories.order_with_lines(customer=other_customer)
    api.force_authenticate(customer)
    response = api.get(reverse("api-order-options", args=[order.number]))
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_options_are_what_their_serializer_gives(api, customer, language):
    """The options are built without OrderOptionsOutput (tests the two agree: fields, their order, formats),
    for lines with options open until a time or with no end, refusals, a gift and a line already requested."""
    order = factories.order_with_lines(
        customer=customer, lines=((Decimal("1999.00"), 2), (Decimal("99.00"), 1)), signed_for_at=timezone.now()
    )
    factories.add_gift(order, main=order.lines.get(line_no=1), line_no=3)
    returns.submit_request(
        customer=customer,
        order=order,
        kind="return",
        reason="no_reason",
        lines=[{"line": order.lines.get(line_no=2), "quantity": 1}],
        condition={"accessories_complete": True, "water_exposure": False},
    )
    in_transit = factories.order_with_lines(customer=customer, signed_for_at=None)  # not received: no end
    api.force_authenticate(customer)
    for each in (order, in_transit):
        body = api.get(reverse("api-order-options", args=[each.number]), HTTP_ACCEPT_LANGUAGE=language).json()
        with translation.override(language):
            lines = [{"line": line, "verdict": verdict} for line, verdict in selectors.order_verdicts(each)]
            expected = OrderOptionsOutput({"order": each.number, "lines": lines}).data
        assert json.dumps(body) == json.dumps(expected)
    assert any(o["open_until"] is None for o in body["lines"][0]["options"])
