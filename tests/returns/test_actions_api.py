"""POST /api/v1/returns/ and the case actions: the contract the storefront and clients rely on."""

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from aftersales.orders.models import Category
from returns.models import ReturnRequest
from tests import factories

pytestmark = pytest.mark.django_db
RESALEABLE = {"accessories_complete": True, "water_exposure": False}


@pytest.fixture
def api():
    return APIClient()


def photo(name="crack.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def make_order(customer, *, price="1999.00", quantity=1, days_ago=1):
    return factories.order_with_lines(
        customer=customer,
        lines=((Decimal(price), quantity),),
        signed_for_at=timezone.now() - timedelta(days=days_ago),
    )


def body(order, **changes):
    line = order.lines.order_by("line_no").first()
    data = {
        "order": order.number,
        "kind": "return",
        "reason": "no_reason",
        "lines": [{"line_id": line.pk, "quantity": 1}],
        "condition": RESALEABLE,
        "description": "Does not fit",
        "attachments": [],
    }
    return {**data, **changes}


def submit(api, data):
    return api.post(reverse("api-return-submit"), data, format="json")


def act(api, case_number, action, data=None):
    return api.post(reverse(f"api-return-{action}", args=[case_number]), data or {}, format="json")


# --- Submitting ----------------------------------------------------------------------------------


def test_R_RET_1_submit_returns_201_with_the_contract_fields(api, customer):
    order = make_order(customer)
    api.force_authenticate(customer)
    response = submit(api, body(order))
    assert response.status_code == 201, response.json()
    created = response.json()
    assert {"number", "status", "refund_estimate", "return_shipping_paid_by", "auto_approved", "next_step"} <= set(
        created
    )
    assert created["number"].startswith("RMA-") and created["status"] == "submitted"
    assert created["refund_estimate"] == "1999.00" and created["return_shipping_paid_by"] == "shop"
    assert created["auto_approved"] is False and created["next_step"]


def test_R_RET_1_submit_after_the_window_is_a_policy_refusal(api, customer):
    order = make_order(customer, days_ago=8)
    api.force_authenticate(customer)
    response = submit(api, body(order))
    assert response.status_code == 400
    assert response.json()["code"] == "policy_refused" and response.json()["rule"] == "R-RET-1"
    assert response.json()["detail"]


def test_R_RET_15_submit_under_the_limit_is_approved_with_a_ship_deadline(api, customer):
    order = make_order(customer, price="299.00")
    api.force_authenticate(customer)
    created = submit(api, body(order)).json()
    assert created["status"] == "awaiting_parcel" and created["auto_approved"] is True
    assert created["deadline_at"].endswith("23:59:59.999999+08:00")


def test_unknown_line_is_a_400_on_its_field(api, customer):
    order = make_order(customer)
    other = make_order(customer)
    api.force_authenticate(customer)
    for line_id in (999999, other.lines.get().pk, 2**63, 0):  # no such id, or none a database holds
        response = submit(api, body(order, lines=[{"line_id": line_id, "quantity": 1}]))
        assert response.status_code == 400
        assert response.json()["code"] == "invalid" and "lines.0.line_id" in response.json()["fields"]


def test_R_RET_13_quantity_over_what_is_returnable_is_a_400_on_its_field(api, customer):
    order = make_order(customer, price="100.00", quantity=2)
    api.force_authenticate(customer)
    line_id = order.lines.get().pk
    for quantity in (3, 0):
        response = submit(api, body(order, lines=[{"line_id": line_id, "quantity": quantity}]))
        assert response.status_code == 400 and "lines.0.quantity" in response.json()["fields"]
    assert submit(api, body(order, lines=[{"line_id": line_id, "quantity": 2}])).status_code == 201
    response = submit(api, body(order, lines=[{"line_id": line_id, "quantity": 1}]))
    assert response.status_code == 400 and response.json()["rule"] == "R-RET-13"


def test_R_RET_8_a_missing_photo_is_a_policy_refusal(api, customer):
    order = make_order(customer)
    api.force_authenticate(customer)
    response = submit(api, body(order, reason="quality"))
    assert response.status_code == 400 and response.json()["rule"] == "R-RET-8"


def test_R_RET_8_photos_come_as_multipart_with_the_json_in_data(api, customer):
    order = make_order(customer, price="99.00")
    api.force_authenticate(customer)
    response = api.post(
        reverse("api-return-submit"),
        {"data": json.dumps(body(order, reason="transit_damage")), "photos": [photo("a.jpg"), photo("b.jpg")]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "submitted"  # photos are checked by an agent first (R-RET-15)
    request = ReturnRequest.objects.get(case__number=response.json()["number"])
    assert request.case.attachments.count() == 2


def test_multipart_with_broken_json_or_a_bad_photo_is_a_400(api, customer):
    order = make_order(customer)
    api.force_authenticate(customer)
    response = api.post(reverse("api-return-submit"), {"data": "{not json"}, format="multipart")
    assert response.status_code == 400 and "data" in response.json()["fields"]
    as_file = SimpleUploadedFile("data", b'{"order": "x"}', content_type="application/json")
    for data in (as_file, "[1, 2]", "[" * 100_000):
        response = api.post(reverse("api-return-submit"), {"data": data}, format="multipart")
        assert response.status_code == 400 and "data" in response.json()["fields"]
    bad = SimpleUploadedFile("x.jpg", b"<?php ?>", content_type="image/jpeg")
    response = api.post(
        reverse("api-return-submit"),
        {"data": json.dumps(body(order, reason="quality")), "photos": [bad]},
        format="multipart",
    )
    assert response.status_code == 400 and "photos.0" in response.json()["fields"]


def test_attachment_ids_cannot_be_linked_in_advance(api, customer):
    order = make_order(customer)
    api.force_authenticate(customer)
    response = submit(api, body(order, attachments=[1]))
    assert response.status_code == 400 and "attachments" in response.json()["fields"]


def test_R_RET_5_exchange_in_a_category_without_exchanges_is_refused(api, customer):
    order = make_order(customer, days_ago=3)
    Category.objects.filter(products__order_lines__order=order).update(exchange_allowed=False)
    sku = factories.ProductFactory().sku
    api.force_authenticate(customer)
    response = submit(api, body(order, kind="exchange", exchange_sku=sku))
    assert response.status_code == 400 and response.json()["rule"] == "R-RET-5"


def test_R_RET_5_exchange_needs_a_known_sku(api, customer):
    order = make_order(customer, days_ago=3)
    api.force_authenticate(customer)
    for sku in ("", "NO-SUCH-SKU"):
        response = submit(api, body(order, kind="exchange", exchange_sku=sku))
        assert response.status_code == 400 and "exchange_sku" in response.json()["fields"]


def test_bad_kind_reason_or_shape_is_a_400(api, customer):
    order = make_order(customer)
    api.force_authenticate(customer)
    assert "kind" in submit(api, body(order, kind="refund_everything")).json()["fields"]
    assert "reason" in submit(api, body(order, kind="reissue", reason="no_reason")).json()["fields"]
    assert "lines" in submit(api, body(order, lines=[])).json()["fields"]


def test_another_customers_order_is_404(api, customer, other_customer):
    order = make_order(other_customer)
    api.force_authenticate(customer)
    response = submit(api, body(order))
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_anonymous_is_401(api, customer):
    assert submit(api, body(make_order(customer))).status_code == 401


# --- The steps ----------------------------------------------------------------------------------


def test_R_RET_9_full_flow_submit_approve_tracking_receive_inspect(api, customer, agent):
    order = make_order(customer)
    api.force_authenticate(customer)
    number = submit(api, body(order)).json()["number"]

    assert act(api, number, "approve").status_code == 403  # a customer cannot approve
    api.force_authenticate(agent)
    approved = act(api, number, "approve", {"note": "OK"})
    assert approved.status_code == 200 and approved.json()["status"] == "awaiting_parcel"
    assert approved.json()["deadline_at"]  # R-RET-10 ship deadline

    api.force_authenticate(customer)
    shipped = act(api, number, "tracking", {"carrier": "SF Express", "tracking_number": "SF1234567890"})
    assert shipped.status_code == 200
    assert shipped.json()["tracking_number"] == "SF1234567890" and shipped.json()["shipped_at"]

    api.force_authenticate(agent)
    received = act(api, number, "receive")
    assert received.json()["status"] == "received" and received.json()["deadline_at"]  # R-RET-10 inspection

    api.force_authenticate(customer)
    assert act(api, number, "cancel").status_code == 409  # not after the parcel is received

    api.force_authenticate(agent)
    too_much = act(api, number, "inspect", {"passed": True, "notes": "", "deductions": "2500.00"})
    assert too_much.status_code == 400 and "deductions" in too_much.json()["fields"]
    passed = act(api, number, "inspect", {"passed": True, "notes": "Like new", "deductions": "99.00"})
    assert passed.status_code == 200
    assert passed.json()["status"] == "refund_pending" and passed.json()["refund_due"] == "1900.00"

    api.force_authenticate(customer)
    detail = api.get(reverse("api-return-detail", args=[number])).json()
    assert detail["status"] == "refund_pending" and detail["inspection_notes"] == "Like new"


def test_R_RET_11_failed_inspection_through_the_api_refunds_nothing(api, customer, agent):
    order = make_order(customer)
    api.force_authenticate(customer)
    number = submit(api, body(order)).json()["number"]
    api.force_authenticate(agent)
    act(api, number, "approve")
    act(api, number, "receive")
    failed = act(api, number, "inspect", {"passed": False, "notes": "Screen cracked by impact"})
    assert failed.json()["status"] == "inspection_failed"
    assert failed.json()["refund_estimate"] == "1999.00" and failed.json()["refund_due"] == "0.00"


def test_R_RET_9_customer_cancels_while_awaiting_the_parcel(api, customer):
    order = make_order(customer, price="299.00")
    api.force_authenticate(customer)
    number = submit(api, body(order)).json()["number"]
    cancelled = act(api, number, "cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert submit(api, body(order)).status_code == 201  # the units are returnable again


def test_R_RET_9_reject_needs_a_reason(api, customer, agent):
    order = make_order(customer)
    api.force_authenticate(customer)
    number = submit(api, body(order)).json()["number"]
    api.force_authenticate(agent)
    assert "reason" in act(api, number, "reject", {"reason": ""}).json()["fields"]
    rejected = act(api, number, "reject", {"reason": "Used goods"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"


def test_tracking_needs_both_fields_and_only_the_owner(api, customer, other_customer, agent):
    order = make_order(customer, price="299.00")
    api.force_authenticate(customer)
    number = submit(api, body(order)).json()["number"]
    response = act(api, number, "tracking", {"carrier": "SF"})
    assert response.status_code == 400 and "tracking_number" in response.json()["fields"]
    api.force_authenticate(agent)
    assert act(api, number, "tracking", {"carrier": "SF", "tracking_number": "1"}).status_code == 403


def test_another_customers_case_is_404(api, customer, other_customer):
    order = make_order(customer)
    api.force_authenticate(customer)
    number = submit(api, body(order)).json()["number"]
    api.force_authenticate(other_customer)
    for action in ("cancel", "tracking", "approve", "reject", "receive", "inspect"):
        assert act(api, number, action).status_code == 404, action
    assert api.get(reverse("api-return-detail", args=[number])).status_code == 404


# --- The replacement, the goods sent back, the price difference --------------------------------------


def test_R_RET_5_exchange_through_the_api_difference_paid_then_shipped_then_confirmed(api, customer, agent):
    order = make_order(customer)
    line = order.lines.get()
    line.product.model_code = "P60"
    line.product.save()
    dearer = factories.ProductFactory(model_code="P60", price=Decimal("2099.00"))
    api.force_authenticate(customer)
    created = submit(api, body(order, kind="exchange", exchange_sku=dearer.sku))
    assert created.status_code == 201, created.json()
    number = created.json()["number"]
    assert created.json()["amount_due"] == "100.00" and created.json()["exchange_sku"] == dearer.sku
    assert act(api, number, "ship", {"carrier": "SF", "tracking_number": "SF1"}).status_code == 403
    assert act(api, number, "difference-paid").status_code == 403

    api.force_authenticate(agent)
    for step, data in (("approve", {}), ("receive", {}), ("inspect", {"passed": True, "notes": "OK"})):
        assert act(api, number, step, data).status_code == 200
    refused = act(api, number, "ship", {"carrier": "SF", "tracking_number": "SF1"})
    assert refused.status_code == 400 and refused.json()["rule"] == "R-RET-5"
    paid = act(api, number, "difference-paid", {"reference": "WX-42"})
    assert paid.status_code == 200 and paid.json()["amount_due_paid_at"]
    missing = act(api, number, "ship", {"carrier": "SF"})
    assert missing.status_code == 400 and "tracking_number" in missing.json()["fields"]
    shipped = act(api, number, "ship", {"carrier": "SF", "tracking_number": "SF1"})
    assert shipped.status_code == 200 and shipped.json()["status"] == "replacement_shipped"
    assert shipped.json()["outbound_tracking_number"] == "SF1"

    api.force_authenticate(factories.CustomerFactory())
    assert act(api, number, "confirm-receipt").status_code == 404  # not theirs: not even there
    api.force_authenticate(customer)
    confirmed = act(api, number, "confirm-receipt")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "completed"
    assert act(api, number, "confirm-receipt").status_code == 409


def test_R_RET_11_goods_sent_back_through_the_api(api, customer, agent):
    order = make_order(customer)
    api.force_authenticate(customer)
    number = submit(api, body(order)).json()["number"]
    api.force_authenticate(agent)
    for step, data in (("approve", {}), ("receive", {}), ("inspect", {"passed": False, "notes": "Used"})):
        assert act(api, number, step, data).status_code == 200
    sent = act(api, number, "send-back", {"carrier": "ZTO", "tracking_number": "ZTO7"})
    assert sent.status_code == 200 and sent.json()["status"] == "sent_back"
    assert sent.json()["refund_due"] == "0.00"


def test_R_RET_8_report_upload_through_the_api(api, customer):
    order = make_order(customer)
    Category.objects.filter(products__order_lines__order=order).update(quality_report_required=True)
    api.force_authenticate(customer)
    data = body(order, reason="quality")
    options = api.get(reverse("api-order-options", args=[order.number])).json()
    quality = next(o for o in options["lines"][0]["options"] if o["kind"] == "return" and o["reason"] == "quality")
    assert quality["report_required"] is True
    refused = api.post(reverse("api-return-submit"), {"data": json.dumps(data), "photos": [photo()]})
    assert refused.status_code == 400 and refused.json()["rule"] == "R-RET-8"
    valid_until = (timezone.localdate() + timedelta(days=10)).isoformat()
    created = api.post(
        reverse("api-return-submit"),
        {
            "data": json.dumps({**data, "report_valid_until": valid_until}),
            "photos": [photo()],
            "report": photo("r.jpg"),
        },
    )
    assert created.status_code == 201, created.json()
    assert created.json()["report_valid_until"] == valid_until
    bad_date = api.post(
        reverse("api-return-submit"), {"data": json.dumps({**data, "report_valid_until": "31/12/2026"})}
    )
    assert bad_date.status_code == 400 and "report_valid_until" in bad_date.json()["fields"]
