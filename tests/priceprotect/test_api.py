"""The price-protection API (/api/v1/orders/…/price-protection/, /price-protection/claims/…,
/price-protection/exposure/): the contract clients code against, and the rules (R-PP-…) as they reach
them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from aftersales.orders.models import PriceKind
from priceprotect import services
from priceprotect.models import Claim
from tests import factories
from tests.priceprotect.conftest import in_transit_order, price

pytestmark = pytest.mark.django_db

CLAIMS = reverse("api-priceprotect-claims")
EXPOSURE = reverse("api-priceprotect-exposure")


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def finance(db):
    return factories.StaffFactory(role="finance")


def as_user(api, user):
    api.force_authenticate(user)
    return api


def product_of(order):
    return order.lines.get(gift_of=None).product


def verdict(api, order):
    return api.get(reverse("api-priceprotect-order", args=[order.number]))


def file(api, order):
    return api.post(CLAIMS, {"order": order.number}, format="json")


def detail(api, number):
    return api.get(reverse("api-priceprotect-claim", args=[number]))


def act(api, number, step, data=None):
    return api.post(reverse(f"api-priceprotect-{step}", args=[number]), data or {}, format="json")


def steep_claim(customer) -> str:
    """R-PP-7: a −53.5 % drop waits for an agent."""
    order = in_transit_order(customer, unit_price=Decimal("299.00"))
    price(product_of(order), "139.00")
    return services.file_claim(order=order, actor=customer).number


# --- What a claim would yield ------------------------------------------------------------------------------


def test_R_PP_1_R_PP_2_the_verdict_lists_each_lines_prices_yield_and_window(api, customer):
    order = in_transit_order(customer, quantity=2)
    price(product_of(order), "1899.00")
    response = verdict(as_user(api, customer), order)
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("order", "claimable", "amount", "mode", "destination", "refusal", "claim")} == {
        "order": order.number,
        "claimable": True,
        "amount": "200.00",
        "mode": "credit",
        "destination": "coupon",
        "refusal": None,
        "claim": None,
    }
    assert body["window_closes_at"] is None  # R-PP-2: open until it is signed for
    [line] = body["lines"]
    assert {k: line[k] for k in ("units", "paid_unit_price", "regular_price", "amount", "drop_percent")} == {
        "units": 2,
        "paid_unit_price": "1999.00",
        "regular_price": "1899.00",
        "amount": "200.00",
        "drop_percent": "5.00",
    }
    assert (line["closes_at"], line["window_days"], line["refusal"], line["promotion"]) == (None, 0, None, None)


def test_R_PP_4_a_flash_sale_is_reported_not_used_and_a_gift_is_refused(api, customer):
    order = in_transit_order(customer)
    main = order.lines.get()
    gift = factories.add_gift(order, main=main, line_no=2)
    price(main.product, "1899.00")
    price(main.product, "999.00", kind=PriceKind.FLASH_SALE, ends_in=timedelta(hours=2))
    body = verdict(as_user(api, customer), order).json()
    lines = {line["line_id"]: line for line in body["lines"]}
    assert lines[main.pk]["amount"] == "100.00" and lines[main.pk]["regular_price"] == "1899.00"
    promotion = lines[main.pk]["promotion"]
    assert (promotion["kind"], promotion["kind_label"], promotion["price"]) == ("flash_sale", "Flash sale", "999.00")
    assert lines[gift.pk]["refusal"] == {"rule": "R-PP-4", "message": "Gifts have no price protection."}
    assert lines[gift.pk]["amount"] == "0.00" and body["amount"] == "100.00"


def test_R_PP_2_a_closed_window_is_refused_with_its_rule_and_date(api, customer):
    signed = timezone.now() - timedelta(days=2)
    order = in_transit_order(customer, signed_for_at=signed)
    price(product_of(order), "1799.00", ago=timedelta(minutes=5))
    body = verdict(as_user(api, customer), order).json()
    assert body["claimable"] is False and body["amount"] == "0.00"
    assert body["refusal"]["rule"] == "R-PP-2" and body["refusal"]["message"].startswith("Price protection ended on")
    assert body["lines"][0]["closes_at"] is not None and body["window_closes_at"] == body["lines"][0]["closes_at"]


def test_R_PP_4_a_b2b_order_is_refused_and_its_lines_yield_nothing(api, customer):
    order = in_transit_order(customer, is_b2b=True)
    price(product_of(order), "1799.00")
    body = verdict(as_user(api, customer), order).json()
    assert body["refusal"] == {"rule": "R-PP-4", "message": "Business (B2B) orders have no price protection."}
    assert body["amount"] == "0.00" and body["lines"][0]["amount"] == "0.00"
    response = file(api, order)
    assert response.status_code == 400 and response.json()["rule"] == "R-PP-4"
    assert not Claim.objects.exists()


# --- The one-click claim ----------------------------------------------------------------------------------


def test_R_PP_1_R_PP_3_one_post_claims_and_answers_201_with_the_claim(api, customer):
    order = in_transit_order(customer, quantity=2)
    price(product_of(order), "1899.00")
    response = file(as_user(api, customer), order)
    assert response.status_code == 201, response.json()
    body = response.json()
    claim = Claim.objects.select_related("case", "coupon").get(order=order)
    assert (body["number"], body["status"], body["order"]) == (claim.case.number, "compensated", order.number)
    assert (body["mode"], body["destination"], body["amount"], body["revoked_amount"]) == (
        "credit",
        "coupon",
        "200.00",
        "0.00",
    )
    assert body["coupon"]["code"] == claim.coupon.code and body["coupon"]["state"] == "issued"
    assert body["paid_as"].startswith(f"Coupon {claim.coupon.code}, valid until ")
    [line] = body["lines"]
    assert (line["units"], line["paid_unit_price"], line["basis_price"], line["amount"]) == (
        2,
        "1999.00",
        "1899.00",
        "200.00",
    )
    assert body["available_actions"] == [] and body["revocations"] == []
    assert body["links"]["portal"] == reverse("priceprotect:order", args=[order.number])
    # The order's verdict now shows the claim, and why no other is taken (R-PP-5).
    after = verdict(api, order).json()
    assert after["claim"]["number"] == claim.case.number and after["refusal"]["rule"] == "R-PP-5"


def test_R_PP_5_a_second_claim_is_a_400_with_its_rule(api, customer):
    order = in_transit_order(customer)
    product = product_of(order)
    price(product, "1899.00", ago=timedelta(hours=2))
    assert file(as_user(api, customer), order).status_code == 201
    price(product, "1699.00")  # it dropped again: still one claim per order
    response = file(api, order)
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["rule"]) == ("policy_refused", "R-PP-5")
    assert body["detail"] == "This order already has a price-protection claim; each order has one."
    assert Claim.objects.filter(order=order).count() == 1


def test_R_PP_3_a_cod_order_in_the_warehouse_is_repriced(api, customer):
    order = in_transit_order(customer, payment_mode="cod", left_warehouse_at=None)
    price(product_of(order), "1799.00")
    # The storefront hears of it after commit; the test's transaction never commits.
    body = file(as_user(api, customer), order).json()
    assert (body["mode"], body["destination"], body["coupon"]) == ("reprice", "", None)
    assert body["paid_as"] == "Order repriced: you pay 200.00 less."


def test_bad_claim_input_is_a_400_on_its_field(api, customer):
    as_user(api, customer)
    for data in ({}, {"order": ""}, {"order": "X" * 65}):
        response = api.post(CLAIMS, data, format="json")
        assert response.status_code == 400 and list(response.json()["fields"]) == ["order"], data
    assert api.post(CLAIMS, "not json", content_type="application/json").status_code == 400


# --- Who sees what ----------------------------------------------------------------------------------------


def test_customers_never_reach_another_customers_order_or_claim(api, customer, other_customer):
    order = in_transit_order(customer)
    price(product_of(order), "1899.00")
    number = services.file_claim(order=order, actor=customer).number
    theirs = in_transit_order(other_customer)
    price(product_of(theirs), "1899.00")
    as_user(api, other_customer)
    assert verdict(api, order).status_code == 404
    assert file(api, order).status_code == 404
    assert detail(api, number).status_code == 404
    for step, data in (("approve", {}), ("reject", {"reason": "no"})):
        assert act(api, number, step, data).status_code == 404
    assert api.get(CLAIMS).json()["results"] == []
    assert Claim.objects.count() == 1
    # Their own are theirs.
    assert file(api, theirs).status_code == 201
    assert [c["order"] for c in api.get(CLAIMS).json()["results"]] == [theirs.number]


def test_staff_cannot_claim_for_a_customer(api, customer, agent):
    order = in_transit_order(customer)
    price(product_of(order), "1899.00")
    assert verdict(as_user(api, agent), order).status_code == 200
    response = file(api, order)
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_the_api_needs_a_login(api, customer):
    order = in_transit_order(customer)
    assert verdict(api, order).status_code == 401
    assert file(api, order).status_code == 401


# --- An agent's review (R-PP-7) ---------------------------------------------------------------------------


def test_R_PP_7_an_agent_approves_a_claim_waiting_for_review(api, customer, agent):
    number = steep_claim(customer)
    mine = detail(as_user(api, customer), number).json()
    assert (mine["status"], mine["suspected_pricing_error"], mine["available_actions"]) == ("submitted", True, [])
    assert mine["paid_as"] == "To be paid as Coupon once the claim is approved."
    assert act(api, number, "approve").status_code == 403  # a customer does not approve their own
    waiting = as_user(api, agent).get(CLAIMS, {"status": "submitted"}).json()["results"]
    assert [c["number"] for c in waiting] == [number]
    assert waiting[0]["available_actions"] == ["approve", "reject"]
    response = act(api, number, "approve", {"note": "A real price cut."})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["amount"], body["available_actions"]) == ("compensated", "160.00", [])
    assert body["decided_at"] is not None and body["coupon"]["amount"] == "160.00"
    again = act(api, number, "approve")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_R_PP_7_a_rejection_needs_a_reason(api, customer, agent):
    number = steep_claim(customer)
    as_user(api, agent)
    for data in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 2001}):
        response = act(api, number, "reject", data)
        assert response.status_code == 400 and list(response.json()["fields"]) == ["reason"], data
    response = act(api, number, "reject", {"reason": "The 139 price was a typo, fixed within minutes."})
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    body = detail(as_user(api, customer), number).json()
    assert body["paid_as"] == "Not paid: the claim was rejected." and body["coupon"] is None


def test_R_PP_7_a_decision_on_a_claim_that_changed_since_is_a_409(api, customer, agent):
    number = steep_claim(customer)
    seen = detail(as_user(api, agent), number).json()["version"]
    response = act(api, number, "reject", {"reason": "Typo price.", "version": seen + 1})
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert detail(api, number).json()["status"] == "submitted"
    assert act(api, number, "approve", {"version": "two"}).json()["fields"] == {
        "version": ["A valid integer is required."]
    }
    assert act(api, number, "approve", {"version": seen}).json()["status"] == "compensated"


def test_R_PP_7_staff_without_the_review_permission_are_refused(api, customer, finance):
    number = steep_claim(customer)
    as_user(api, finance)
    assert detail(api, number).status_code == 200  # finance sees cases
    assert act(api, number, "approve").status_code == 403
    assert act(api, number, "reject", {"reason": "No."}).status_code == 403
    assert Claim.objects.get().case.status == "submitted"


# --- Exposure of a planned price cut ------------------------------------------------------------------------


def test_exposure_of_a_planned_price_cut(api, agent):
    product = factories.ProductFactory(price=Decimal("1999.00"))
    for kwargs in ({}, {"quantity": 2}, {"is_b2b": True}):  # the B2B order is left out (R-PP-4)
        order = in_transit_order(factories.CustomerFactory(), quantity=kwargs.pop("quantity", 1), **kwargs)
        order.lines.update(product=product)
    response = as_user(api, agent).get(EXPOSURE, {"sku": product.sku, "price": "1799.00"})
    assert response.status_code == 200
    assert response.json() == {
        "sku": product.sku,
        "product_name": product.name,
        "current_price": "1999.00",
        "price": "1799.00",
        "currency": response.json()["currency"],
        "orders": 2,
        "units": 3,
        "amount": "600.00",
    }
    assert api.get(EXPOSURE, {"sku": product.sku, "price": "2500"}).json()["amount"] == "0.00"


def test_exposure_bad_input_is_a_400_on_its_field(api, agent):
    product = factories.ProductFactory()
    as_user(api, agent)
    for params, fields in (
        ({"sku": product.sku, "price": "abc"}, ["price"]),
        ({"sku": product.sku, "price": "-1"}, ["price"]),
        ({"sku": product.sku, "price": "1.999"}, ["price"]),
        ({"sku": product.sku, "price": "1" * 20}, ["price"]),
        ({}, ["sku", "price"]),
        ({"sku": "NO-SUCH-SKU", "price": "10"}, ["sku"]),
    ):
        response = api.get(EXPOSURE, params)
        assert response.status_code == 400 and sorted(response.json()["fields"]) == sorted(fields), params


def test_exposure_is_for_reviewers_only(api, customer, finance):
    product = factories.ProductFactory()
    for user in (customer, finance):
        response = as_user(api, user).get(EXPOSURE, {"sku": product.sku, "price": "10"})
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
