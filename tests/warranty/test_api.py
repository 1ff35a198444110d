"""The warranty API (/api/v1/orders/…/coverage/, …/units/, /warranty/claims/…, /storefront/units/): the
contract clients code against, and the rules (R-WAR-…) as they reach them."""

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from aftersales.cases.models import Case
from aftersales.orders import services as order_services
from tests import factories
from tests.returns.test_submit import photo
from tests.warranty.conftest import ALL_DOCUMENTS, tv_order_for
from warranty import services
from warranty.models import Claim, Unit

pytestmark = pytest.mark.django_db

CUSTOMER_STEPS = (
    "cancel",
    "tracking",
    "accept-quote",
    "decline-quote",
    "appeal",
    "confirm-receipt",
    "take-replacement",
)
STAFF_STEPS = (
    "accept",
    "book-visit",
    "reject",
    "receive",
    "start-diagnosis",
    "diagnose",
    "parts",
    "repaired",
    "fail-quality-check",
    "ship-back",
    "ship-back-unrepaired",
    "payment",
    "decide-appeal",
    "ship-accessory",
)
# A well-formed body for each step that needs one, so a refusal is about who asks, not what they sent.
VALID = {
    "tracking": {"carrier": "SF", "tracking_number": "SF1"},
    "appeal": {"text": "It was never dropped."},
    "book-visit": {"visit_at": (timezone.now() + timedelta(days=2)).isoformat()},
    "reject": {"reason": "Not our product."},
    "diagnose": {"outcome": "covered", "notes": "Backlight driver failed"},
    "parts": {"name": "LED driver board", "quantity": 1, "unit_price": "120.00"},
    "fail-quality-check": {"notes": "Flicker remains"},
    "ship-back": {"carrier": "SF", "tracking_number": "SF2"},
    "ship-back-unrepaired": {"carrier": "SF", "tracking_number": "SF3"},
    "decide-appeal": {"overturn": True, "note": "ok"},
    "ship-accessory": {"carrier": "SF", "tracking_number": "SF4"},
}


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def technician(db):
    return factories.StaffFactory(role="technician")


def claim_body(order, **changes):
    data = {
        "line_id": order.lines.get().pk,
        "fault": "display",
        "description": "Black screen after ten minutes",
        "remedy": "repair",
        "documents": ALL_DOCUMENTS,
        "mode": "ship_in",
    }
    return {**data, **changes}


def file(api, data, **kwargs):
    return api.post(reverse("api-warranty-claims"), data, format=kwargs.pop("format", "json"), **kwargs)


def act(api, number, step, data=None, format="json"):
    return api.post(reverse(f"api-warranty-{step}", args=[number]), data or {}, format=format)


def detail(api, number):
    return api.get(reverse("api-warranty-claim", args=[number]))


def filed(api, order, **changes) -> str:
    api.force_authenticate(order.customer)
    response = file(api, claim_body(order, **changes))
    assert response.status_code == 201, response.json()
    return response.json()["number"]


def coverage(api, order):
    return api.get(reverse("api-warranty-coverage", args=[order.number]))


def as_user(api, user):
    api.force_authenticate(user)
    return api


# --- Filing and reading a claim ------------------------------------------------------------------------


def test_R_WAR_5_a_customer_files_a_repair_and_sees_it(api, tv_order, centre):
    tv_order.customer.region = "上海"
    tv_order.customer.save()
    centre.brands.add(tv_order.lines.get().product.brand)
    api.force_authenticate(tv_order.customer)
    response = file(api, claim_body(tv_order))
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["number"].startswith("WAR-") and created["kind"] == "warranty"
    assert created["status"] == "awaiting_unit"  # every document: accepted at once
    assert created["status_label"] and created["deadline_at"]
    assert created["links"]["detail"] == reverse("api-warranty-claim", args=[created["number"]])
    assert created["links"]["case"] == reverse("api-case-detail", args=[created["number"]])

    claim = detail(api, created["number"])
    assert claim.status_code == 200
    body = claim.json()
    assert body["status"] == "awaiting_unit" and body["fault"] == "display" and body["fault_label"]
    assert body["order"] == tv_order.number and body["line_id"] == tv_order.lines.get().pk
    assert body["centre"] == {"name": centre.name, "address": centre.address, "phone": centre.phone}
    assert body["missing_documents"] == [] and body["mode"] == "ship_in" and body["serial_number"] is None
    assert body["paid"] is False and body["appealed"] is False and body["replacement_offered"] is False
    assert centre.address in body["next_step"]
    assert body["available_actions"] == ["cancel", "tracking"]

    sent = act(api, created["number"], "tracking", {"carrier": "SF Express", "tracking_number": "SF1234"})
    assert sent.status_code == 200 and sent.json()["tracking_number"] == "SF1234"
    assert sent.json()["deadline_at"] is None and "arrives" in sent.json()["next_step"]


def test_R_WAR_1_a_claim_names_its_registered_unit(api, tv_order):
    line = tv_order.lines.get()
    unit = services.register_unit(line=line, serial_number="TV-0001", source="storefront")
    number = filed(api, tv_order, unit_id=unit.pk)
    assert detail(api, number).json()["serial_number"] == "TV-0001"
    assert Claim.objects.get(case__number=number).unit == unit


def test_R_WAR_2_out_of_warranty_is_a_refusal_with_its_rule(api, customer):
    order = tv_order_for(customer, days_ago=400)
    api.force_authenticate(customer)
    response = file(api, claim_body(order))
    assert response.status_code == 400
    assert response.json()["code"] == "policy_refused" and response.json()["rule"] == "R-WAR-2"
    assert "paid repair" in response.json()["detail"]
    assert not Case.objects.exists()


def test_R_WAR_4_a_missing_original_invoice_is_a_refusal_and_other_gaps_are_recorded(api, tv_order, agent):
    api.force_authenticate(tv_order.customer)
    refused = file(api, claim_body(tv_order, documents=["warranty_card", "accessories", "packaging", "manual"]))
    assert refused.status_code == 400 and refused.json()["rule"] == "R-WAR-4"
    assert "documents" in refused.json()["fields"]

    created = file(api, claim_body(tv_order, documents=["original_invoice", "accessories"]))
    assert created.status_code == 201 and created.json()["status"] == "submitted"  # an agent looks first
    number = created.json()["number"]
    body = detail(api, number).json()
    assert [d["code"] for d in body["missing_documents"]] == ["warranty_card", "packaging", "manual"]
    assert all(d["label"] for d in body["missing_documents"])
    assert body["available_actions"] == ["cancel"]
    api.force_authenticate(agent)
    assert detail(api, number).json()["available_actions"] == ["accept", "reject"]  # sent in: no visit (R-WAR-5)
    assert "reason" in act(api, number, "reject", {"reason": ""}).json()["fields"]
    accepted = act(api, number, "accept", {"note": "The card is not needed."})
    assert accepted.status_code == 200 and accepted.json()["status"] == "awaiting_unit"


def test_R_WAR_2_an_exchange_in_the_first_days_opens_an_exchange_case_with_the_photos(api, customer):
    order = tv_order_for(customer, days_ago=5)
    api.force_authenticate(customer)
    response = file(
        api,
        {"data": json.dumps(claim_body(order, remedy="exchange")), "photos": [photo("a.jpg")]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["kind"] == "exchange" and created["number"].startswith("RMA-")
    assert created["links"]["detail"] == reverse("api-return-detail", args=[created["number"]])
    assert Case.objects.get(number=created["number"]).attachments.count() == 1
    assert detail(api, created["number"]).status_code == 404  # not a warranty claim
    assert api.get(created["links"]["detail"]).status_code == 200


def test_R_WAR_2_a_return_after_day_7_is_refused_on_its_remedy(api, tv_order):
    api.force_authenticate(tv_order.customer)
    response = file(api, claim_body(tv_order, remedy="return"))
    assert response.status_code == 400 and response.json()["rule"] == "R-WAR-2"
    assert "remedy" in response.json()["fields"]


def test_R_WAR_7_an_on_site_claim_gets_a_visit_booked(api, tv_order, centre, agent, technician):
    tv_order.customer.region = "上海"
    tv_order.customer.save()
    api.force_authenticate(tv_order.customer)
    refused = file(api, claim_body(tv_order, mode="on_site"))  # the centre does not serve this brand
    assert refused.status_code == 400 and refused.json()["rule"] == "R-WAR-7"
    centre.brands.add(tv_order.lines.get().product.brand)
    number = filed(api, tv_order, mode="on_site")
    api.force_authenticate(agent)
    past = act(api, number, "book-visit", {"visit_at": (timezone.now() - timedelta(hours=1)).isoformat()})
    assert past.status_code == 400 and "visit_at" in past.json()["fields"]
    assert detail(api, number).json()["available_actions"] == ["book-visit", "reject"]
    ship_in = act(api, number, "accept")  # R-WAR-5: the customer asked for a visit, not to send the unit
    assert ship_in.status_code == 409 and ship_in.json()["detail"].startswith("The customer asked for a technician")
    booked = act(api, number, "book-visit", VALID["book-visit"])
    assert booked.status_code == 200 and booked.json()["status"] == "visit_booked" and booked.json()["visit_at"]
    api.force_authenticate(tv_order.customer)
    assert "visit" in detail(api, number).json()["next_step"]
    api.force_authenticate(technician)
    assert act(api, number, "start-diagnosis").json()["status"] == "diagnosing"


# --- Who may see and do what ---------------------------------------------------------------------------


def test_another_customer_gets_404_on_every_endpoint_of_a_claim(api, tv_order, other_customer):
    number = filed(api, tv_order)
    api.force_authenticate(other_customer)
    assert detail(api, number).status_code == 404
    for step in (*CUSTOMER_STEPS, *STAFF_STEPS):
        response = act(api, number, step, VALID.get(step))
        assert response.status_code == 404, step
        assert response.json()["code"] == "not_found"
    line = tv_order.lines.get()
    assert coverage(api, tv_order).status_code == 404
    units = api.post(reverse("api-warranty-units", args=[tv_order.number, line.pk]), {"serial_number": "X1"})
    assert units.status_code == 404 and not Unit.objects.exists()
    # Filing on someone else's line: the same answer as a line that does not exist.
    response = file(api, claim_body(tv_order))
    assert response.status_code == 400 and "line_id" in response.json()["fields"]


def test_staff_steps_by_a_customer_are_403_and_customer_steps_by_staff_too(api, tv_order, agent):
    number = filed(api, tv_order)
    for step in STAFF_STEPS:
        response = act(api, number, step, VALID.get(step))
        assert response.status_code == 403, (step, response.json())
        assert response.json()["code"] == "permission_denied"
    api.force_authenticate(agent)
    for step in ("cancel", "tracking", "appeal", "accept-quote", "confirm-receipt", "take-replacement"):
        assert act(api, number, step, VALID.get(step)).status_code == 403, step
    assert Case.objects.get(number=number).status == "awaiting_unit"


def test_anonymous_is_401(api, tv_order):
    assert file(api, claim_body(tv_order)).status_code == 401
    assert coverage(api, tv_order).status_code == 401


def test_a_step_in_the_wrong_status_is_409(api, tv_order, agent):
    number = filed(api, tv_order)
    act(as_user(api, agent), number, "receive")
    assert act(as_user(api, tv_order.customer), number, "cancel").status_code == 409  # the unit has arrived
    assert act(as_user(api, agent), number, "receive").status_code == 409


# --- Bad input is a 400 with fields, never a 500 ---------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"line_id": "abc"}, "line_id"),
        ({"line_id": 10**30}, "line_id"),
        ({"line_id": 999_999}, "line_id"),
        ({"line_id": None}, "line_id"),
        ({"fault": "nope"}, "fault"),
        ({"fault": ["display"]}, "fault"),
        ({"description": ""}, "description"),
        ({"description": "x" * 4001}, "description"),
        ({"description": {"text": "broken"}}, "description"),
        ({"remedy": "money_back_twice"}, "remedy"),
        ({"documents": "original_invoice"}, "documents"),
        ({"documents": ["original_invoice", "passport"]}, "documents.1"),
        ({"mode": "teleport"}, "mode"),
        ({"unit_id": "first"}, "unit_id"),
        ({"unit_id": 123_456}, "unit_id"),
    ],
)
def test_bad_claim_input_is_a_400_on_its_field(api, tv_order, changes, field):
    api.force_authenticate(tv_order.customer)
    response = file(api, claim_body(tv_order, **changes))
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid" and field in response.json()["fields"]
    assert not Case.objects.exists()


def test_bad_claim_bodies_are_a_400_never_a_500(api, tv_order):
    api.force_authenticate(tv_order.customer)
    missing = file(api, {})
    assert missing.status_code == 400
    assert {"line_id", "fault", "description"} <= set(missing.json()["fields"])
    assert file(api, [1, 2, 3]).status_code == 400
    broken = api.post(reverse("api-warranty-claims"), "{not json", content_type="application/json")
    assert broken.status_code == 400 and "fields" in broken.json()
    for data in ("{not json", "[]", "[" * 100_000):
        response = file(api, {"data": data}, format="multipart")
        assert response.status_code == 400 and "data" in response.json()["fields"]
    as_a_file = SimpleUploadedFile("data.json", json.dumps(claim_body(tv_order)).encode(), "application/json")
    response = file(api, {"data": as_a_file}, format="multipart")
    assert response.status_code == 400 and "data" in response.json()["fields"]
    not_a_photo = SimpleUploadedFile("x.jpg", b"<?php ?>", content_type="image/jpeg")
    bad_photo = {"data": json.dumps(claim_body(tv_order)), "photos": [photo(), not_a_photo]}
    response = file(api, bad_photo, format="multipart")
    assert response.status_code == 400 and "photos.1" in response.json()["fields"]
    assert not Case.objects.exists()
    other_line = factories.order_with_lines(customer=tv_order.customer).lines.get()
    unit = services.register_unit(line=other_line, serial_number="ELSEWHERE", source="customer")
    response = file(api, claim_body(tv_order, unit_id=unit.pk))  # a unit of another line
    assert response.status_code == 400 and "unit_id" in response.json()["fields"]


def test_bad_step_input_is_a_400_on_its_field(api, tv_order, agent, technician, supervisor):
    number = filed(api, tv_order)
    assert "carrier" in act(api, number, "tracking", {"carrier": "x" * 65, "tracking_number": "1"}).json()["fields"]
    assert "tracking_number" in act(api, number, "tracking", {"carrier": "SF"}).json()["fields"]
    act(as_user(api, agent), number, "receive")
    act(as_user(api, technician), number, "start-diagnosis")
    for data, field in (
        ({"outcome": "fixed", "notes": "x"}, "outcome"),
        ({"outcome": None, "notes": "x"}, "outcome"),
        ({"outcome": "covered"}, "notes"),
        ({"outcome": "covered", "notes": "x" * 4001}, "notes"),
        ({"outcome": "excluded", "notes": "x", "exclusion": "bad_luck"}, "exclusion"),
        ({"outcome": "excluded", "notes": "x", "exclusion": "accident", "quote": "cheap"}, "quote"),
        ({"outcome": "excluded", "notes": "x", "exclusion": "accident", "quote": "1e100"}, "quote"),
        ({"outcome": "excluded", "notes": "x", "exclusion": "accident", "quote": "12.345"}, "quote"),
        ({"outcome": "excluded", "notes": "x", "exclusion": "accident", "quote": [1]}, "quote"),
        ({"outcome": "excluded", "notes": "x", "exclusion": "accident", "explanation": "Dropped"}, "photos"),
    ):
        response = act(api, number, "diagnose", data)
        assert response.status_code == 400, (data, response.content)
        assert field in response.json()["fields"], (data, response.json())
    assert act(api, number, "diagnose", {"data": "nope"}, format="multipart").status_code == 400
    act(api, number, "diagnose", VALID["diagnose"])
    for data, field in (
        ({"name": "", "quantity": 1}, "name"),
        ({"name": "Board", "quantity": "many"}, "quantity"),
        ({"name": "Board", "quantity": 0}, "quantity"),
        ({"name": "Board", "quantity": 10**6}, "quantity"),
        ({"name": "Board", "unit_price": "free"}, "unit_price"),
    ):
        response = act(api, number, "parts", data)
        assert response.status_code == 400 and field in response.json()["fields"], data
    assert "notes" in act(api, number, "repaired", {"notes": "x" * 5000}).json()["fields"]
    act(api, number, "repaired")
    assert "notes" in act(api, number, "fail-quality-check", {}).json()["fields"]
    assert "tracking_number" in act(api, number, "ship-back", {"carrier": "SF"}).json()["fields"]
    api.force_authenticate(agent)
    assert "reference" in act(api, number, "payment", {"reference": "x" * 201}).json()["fields"]
    api.force_authenticate(supervisor)
    for data, field in (({"overturn": "maybe", "note": "x"}, "overturn"), ({"overturn": True}, "note")):
        response = act(api, number, "decide-appeal", data)
        assert response.status_code == 400 and field in response.json()["fields"]
    assert "visit_at" in act(as_user(api, agent), number, "book-visit", {"visit_at": "tomorrow"}).json()["fields"]


# --- The repair ------------------------------------------------------------------------------------------


def test_R_WAR_5_the_whole_covered_repair_through_the_api(api, tv_order, agent, technician):
    customer = tv_order.customer
    number = filed(api, tv_order)
    assert act(api, number, "tracking", VALID["tracking"]).status_code == 200

    received = act(as_user(api, agent), number, "receive")
    assert received.status_code == 200 and received.json()["status"] == "received" and received.json()["received_at"]
    assert received.json()["available_actions"] == []  # diagnosing is the technicians' step
    api.force_authenticate(technician)
    assert detail(api, number).json()["available_actions"] == ["start-diagnosis"]
    assert act(api, number, "start-diagnosis").json()["status"] == "diagnosing"
    diagnosed = act(api, number, "diagnose", VALID["diagnose"])
    assert diagnosed.status_code == 200
    assert diagnosed.json()["status"] == "repairing" and diagnosed.json()["diagnosis"] == "covered"
    assert diagnosed.json()["available_actions"] == ["parts", "repaired"]
    part = act(api, number, "parts", VALID["parts"])
    assert part.status_code == 201
    assert part.json()["name"] == "LED driver board" and part.json()["unit_price"] == "0.00"  # covered: free
    assert act(api, number, "repaired", {"notes": "Board replaced"}).json()["status"] == "quality_check"
    assert act(api, number, "fail-quality-check", VALID["fail-quality-check"]).json()["status"] == "repairing"
    assert act(api, number, "repaired").json()["status"] == "quality_check"
    shipped = act(api, number, "ship-back", VALID["ship-back"])
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped_back"
    assert shipped.json()["outbound_tracking_number"] == "SF2" and shipped.json()["shipped_back_at"]

    api.force_authenticate(customer)
    body = detail(api, number).json()
    assert body["available_actions"] == ["confirm-receipt"] and "confirm" in body["next_step"]
    assert [(p["name"], p["quantity"], p["unit_price"]) for p in body["parts"]] == [("LED driver board", 1, "0.00")]
    closed = act(api, number, "confirm-receipt")
    assert closed.status_code == 200 and closed.json()["status"] == "closed" and closed.json()["closed_at"]
    assert closed.json()["available_actions"] == []
    assert act(api, number, "confirm-receipt").status_code == 409


def excluded_claim(api, order, technician, agent, *, quote="850.00"):
    number = filed(api, order)
    act(as_user(api, agent), number, "receive")
    act(as_user(api, technician), number, "start-diagnosis")
    data = {
        "outcome": "excluded",
        "notes": "Liquid inside",
        "exclusion": "accident",
        "explanation": "Liquid damage on the main board.",
        "quote": quote,
    }
    response = act(api, number, "diagnose", {"data": json.dumps(data), "photos": [photo("liquid.jpg")]}, "multipart")
    assert response.status_code == 200, response.json()
    return number, response.json()


def test_R_WAR_3_an_exclusion_comes_with_a_photo_through_multipart_and_a_paid_repair_is_paid_first(
    api, tv_order, technician, agent
):
    number, body = excluded_claim(api, tv_order, technician, agent)
    assert body["status"] == "excluded" and body["exclusion"] == "accident"
    assert body["exclusion_label"] and body["exclusion_explanation"] == "Liquid damage on the main board."
    assert body["quote_amount"] == "850.00" and body["diagnosis"] == "excluded"
    assert Case.objects.get(number=number).attachments.filter(uploaded_by=technician).count() == 1

    api.force_authenticate(tv_order.customer)
    seen = detail(api, number).json()
    assert seen["available_actions"] == ["accept-quote", "decline-quote", "appeal"]
    assert "850.00" in seen["next_step"] and "appeal" in seen["next_step"]
    accepted = act(api, number, "accept-quote")
    assert accepted.json()["status"] == "repairing" and accepted.json()["amount_due"] == "850.00"
    assert accepted.json()["paid"] is False and "850.00" in accepted.json()["next_step"]

    api.force_authenticate(technician)
    part = act(api, number, "parts", {"name": "Main board", "quantity": 1, "unit_price": "700.00"})
    assert part.json()["unit_price"] == "700.00"  # a paid repair charges its parts
    assert "ship-back" not in act(api, number, "repaired").json()["available_actions"]
    unpaid = act(api, number, "ship-back", VALID["ship-back"])
    assert unpaid.status_code == 400 and unpaid.json()["rule"] == "R-WAR-3"
    api.force_authenticate(agent)
    assert "payment" in detail(api, number).json()["available_actions"]
    paid = act(api, number, "payment", {"reference": "PAY-1"})
    assert paid.status_code == 200 and paid.json()["paid"] is True
    shipped = act(as_user(api, technician), number, "ship-back", VALID["ship-back"])
    assert shipped.status_code == 200 and shipped.json()["repair_days"] == 0  # paid: no extension (R-WAR-8)


def test_R_WAR_3_parts_and_payments_sent_with_a_stale_version_are_409_and_write_once(api, tv_order, technician, agent):
    """Optimistic version checks: the claim's `version` sent back with a part or a payment; the same
    request twice (or after another change) is a 409 conflict, not a second part or payment."""
    number = filed(api, tv_order)
    act(as_user(api, agent), number, "receive")
    act(as_user(api, technician), number, "start-diagnosis")
    data = {
        "outcome": "excluded",
        "notes": "Liquid inside",
        "exclusion": "accident",
        "explanation": "Liquid damage.",
        "quote": "300.00",
    }
    act(api, number, "diagnose", {"data": json.dumps(data), "photos": [photo()]}, "multipart")
    version = act(as_user(api, tv_order.customer), number, "accept-quote").json()["version"]

    api.force_authenticate(technician)
    part = {"name": "Main board", "unit_price": "200.00", "version": version}
    assert act(api, number, "parts", part).status_code == 201
    again = act(api, number, "parts", part)
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert Claim.objects.get(case__number=number).parts.count() == 1
    assert "version" in act(api, number, "parts", {**part, "version": "new"}).json()["fields"]
    version = detail(api, number).json()["version"]
    assert version == Case.objects.get(number=number).version

    api.force_authenticate(agent)
    stale = act(api, number, "payment", {"reference": "PAY-1", "version": version - 1})
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    assert detail(api, number).json()["paid"] is False
    paid = act(api, number, "payment", {"reference": "PAY-1", "version": version})
    assert paid.status_code == 200 and paid.json()["paid"] is True and paid.json()["version"] == version + 1
    assert act(api, number, "payment", {"reference": "PAY-1", "version": version}).status_code == 409
    assert act(api, number, "payment", {"reference": "PAY-1"}).status_code == 200  # no version: as it is now


def test_R_WAR_3_an_exclusion_needs_evidence(api, tv_order, technician, agent):
    number = filed(api, tv_order)
    act(as_user(api, agent), number, "receive")
    act(as_user(api, technician), number, "start-diagnosis")
    data = {"outcome": "excluded", "notes": "Cracked", "exclusion": "accident", "explanation": "Impact."}
    response = act(api, number, "diagnose", {"data": json.dumps(data)}, "multipart")
    assert response.status_code == 400 and set(response.json()["fields"]) == {"photos"}
    assert Case.objects.get(number=number).status == "diagnosing"


def test_R_WAR_3_appeal_once_and_a_supervisor_upholds_then_the_unit_comes_back_unrepaired(
    api, tv_order, technician, agent, supervisor
):
    number, _ = excluded_claim(api, tv_order, technician, agent)
    api.force_authenticate(tv_order.customer)
    assert "text" in act(api, number, "appeal", {"text": ""}).json()["fields"]
    appealed = act(api, number, "appeal", {"text": "It was never near water."})
    assert appealed.status_code == 200 and appealed.json()["status"] == "appealed" and appealed.json()["appealed"]
    assert act(as_user(api, technician), number, "decide-appeal", VALID["decide-appeal"]).status_code == 403

    api.force_authenticate(supervisor)
    assert detail(api, number).json()["available_actions"] == ["decide-appeal"]
    upheld = act(api, number, "decide-appeal", {"overturn": False, "note": "Corrosion on the board."})
    assert upheld.status_code == 200 and upheld.json()["status"] == "excluded"

    api.force_authenticate(tv_order.customer)
    assert "appeal" not in detail(api, number).json()["available_actions"]
    again = act(api, number, "appeal", {"text": "Please look again."})
    assert again.status_code == 400 and again.json()["rule"] == "R-WAR-3"
    assert act(api, number, "decline-quote").json()["status"] == "returning"
    sent = act(as_user(api, agent), number, "ship-back-unrepaired", {"carrier": "SF", "tracking_number": "SF9"})
    assert sent.status_code == 200 and sent.json()["status"] == "returned_unrepaired"


def test_R_WAR_3_a_supervisor_overturns_an_exclusion(api, tv_order, technician, agent, supervisor):
    number, _ = excluded_claim(api, tv_order, technician, agent)
    act(as_user(api, tv_order.customer), number, "appeal", {"text": "It was never near water."})
    overturned = act(as_user(api, supervisor), number, "decide-appeal", {"overturn": True, "note": "Faulty seal."})
    assert overturned.status_code == 200
    assert overturned.json()["status"] == "repairing" and overturned.json()["diagnosis"] == "covered"
    assert overturned.json()["amount_due"] == "0.00"


def test_R_WAR_5_irreparable_hands_over_to_a_replacement(api, tv_order, technician, agent):
    number = filed(api, tv_order)
    act(as_user(api, agent), number, "receive")
    act(as_user(api, technician), number, "start-diagnosis")
    response = act(api, number, "diagnose", {"outcome": "irreparable", "notes": "Panel unavailable"})
    assert response.status_code == 200 and response.json()["status"] == "handed_over"
    replacement = response.json()["handed_over_to"]
    assert replacement.startswith("RMA-") and Case.objects.get(number=replacement).kind == "reissue"
    assert replacement in detail(as_user(api, tv_order.customer), number).json()["next_step"]


def test_R_WAR_10_the_customer_takes_the_offered_replacement(api, tv_order, technician, agent):
    number = filed(api, tv_order)
    act(as_user(api, agent), number, "receive")
    act(as_user(api, technician), number, "start-diagnosis")
    api.force_authenticate(tv_order.customer)
    refused = act(api, number, "take-replacement")
    assert refused.status_code == 400 and refused.json()["rule"] == "R-WAR-10"
    services.offer_replacement(case=Case.objects.get(number=number))
    body = detail(api, number).json()
    assert body["replacement_offered"] is True and body["available_actions"] == ["take-replacement"]
    assert "replacement" in body["next_step"]
    taken = act(api, number, "take-replacement")
    assert taken.status_code == 200 and taken.json()["status"] == "handed_over" and taken.json()["handed_over_to"]


# --- Coverage and units (R-WAR-1, R-WAR-8) ----------------------------------------------------------------


def test_R_WAR_8_coverage_shows_the_extension_after_a_repair(api, tv_order, technician):
    api.force_authenticate(tv_order.customer)
    before = coverage(api, tv_order)
    assert before.status_code == 200
    line = before.json()["lines"][0]
    assert line["line_id"] == tv_order.lines.get().pk and line["warranty_months"] > 0
    assert line["coverage"]["extension_days"] == 0 and line["refusal"] is None
    assert [(r["remedy"], r["rule"]) for r in line["remedies"]] == [("repair", "R-WAR-2")]
    assert line["remedies"][0]["open_until"] == line["coverage"]["ends_at"]

    case = services.file_claim(
        customer=tv_order.customer,
        line=tv_order.lines.get(),
        fault="display",
        description="Lines on the screen",
        documents=ALL_DOCUMENTS,
    )
    case = services.receive(case=case, actor=technician, now=timezone.now() - timedelta(days=12))
    case = services.start_diagnosis(case=case, actor=technician)
    case = services.diagnose(case=case, actor=technician, outcome="covered", notes="Panel cable")
    case = services.repaired(case=case, actor=technician)
    services.ship_back(case=case, actor=technician, carrier="SF", tracking_number="SF7")

    after = coverage(api, tv_order).json()["lines"][0]
    assert after["coverage"]["extension_days"] == 12
    assert after["coverage"]["base_ends_at"] == line["coverage"]["base_ends_at"]
    assert after["coverage"]["ends_at"] > line["coverage"]["ends_at"]
    assert after["remedies"][0]["open_until"] == after["coverage"]["ends_at"]


def test_R_WAR_8_a_registered_units_repair_extends_that_units_coverage(api, customer, technician):
    order = factories.order_with_lines(
        customer=customer, lines=((Decimal("3999.00"), 2),), signed_for_at=timezone.now() - timedelta(days=20)
    )
    line = order.lines.get()
    repaired = services.register_unit(line=line, serial_number="TV-A", source="storefront")
    services.register_unit(line=line, serial_number="TV-B", source="storefront")
    case = services.file_claim(
        customer=customer, line=line, fault="audio", description="No sound", documents=ALL_DOCUMENTS, unit=repaired
    )
    case = services.receive(case=case, actor=technician, now=timezone.now() - timedelta(days=5))
    case = services.start_diagnosis(case=case, actor=technician)
    case = services.diagnose(case=case, actor=technician, outcome="covered", notes="Amplifier")
    case = services.repaired(case=case, actor=technician)
    services.ship_back(case=case, actor=technician, carrier="SF", tracking_number="SF8")

    row = coverage(as_user(api, customer), order).json()["lines"][0]
    units = {u["serial_number"]: u["coverage"] for u in row["units"]}
    assert units["TV-A"]["extension_days"] == 5 and units["TV-B"]["extension_days"] == 0
    assert units["TV-A"]["ends_at"] > units["TV-B"]["ends_at"] == row["coverage"]["ends_at"]


def test_R_WAR_8_the_api_and_the_portal_read_one_coverage_for_a_unit_repaired_before_its_serial(
    api, client, tv_order, technician
):
    """One selector (`line_coverages`) for the API's order coverage and the portal's products page: a
    line of one is one unit, so a repair filed before its serial was registered extends that unit."""
    line = tv_order.lines.get()
    case = services.file_claim(
        customer=tv_order.customer, line=line, fault="display", description="Lines", documents=ALL_DOCUMENTS
    )
    case = services.receive(case=case, actor=technician, now=timezone.now() - timedelta(days=12))
    case = services.start_diagnosis(case=case, actor=technician)
    case = services.diagnose(case=case, actor=technician, outcome="covered", notes="Panel cable")
    services.ship_back(
        case=services.repaired(case=case, actor=technician), actor=technician, carrier="SF", tracking_number="SF9"
    )
    services.register_unit(line=line, serial_number="TV-1", source="customer", customer=tv_order.customer)
    row = coverage(as_user(api, tv_order.customer), tv_order).json()["lines"][0]
    [unit] = row["units"]
    assert unit["coverage"] == row["coverage"] and row["coverage"]["extension_days"] == 12
    client.force_login(tv_order.customer)
    page = client.get(reverse("warranty:products")).content.decode()
    ends = timezone.localtime(datetime.fromisoformat(row["coverage"]["ends_at"])).strftime("%Y-%m-%d")
    assert f'<strong class="coverage-end">{ends}</strong>' in page and "covered until" not in page


def test_R_WAR_1_coverage_before_sign_for_and_for_a_gift_refuses_with_the_rule(api, customer, agent):
    unsigned = factories.order_with_lines(customer=customer, signed_for_at=None)
    api.force_authenticate(customer)
    line = coverage(api, unsigned).json()["lines"][0]
    assert line["coverage"] is None and line["remedies"] == []
    assert line["refusal"]["rule"] == "R-WAR-1" and line["refusal"]["message"]

    order = tv_order_for(customer)
    factories.add_gift(order, main=order.lines.get(), line_no=2)
    lines = coverage(api, order).json()["lines"]
    assert [(row["is_gift"], (row["refusal"] or {}).get("rule")) for row in lines] == [(False, None), (True, "R-WAR-1")]
    assert coverage(as_user(api, agent), order).status_code == 200  # staff read any order's coverage


def test_R_WAR_1_units_are_registered_once_and_listed_with_the_coverage(api, customer, agent):
    order = factories.order_with_lines(customer=customer, lines=((Decimal("3999.00"), 2),))
    line = order.lines.get()
    url = reverse("api-warranty-units", args=[order.number, line.pk])
    api.force_authenticate(customer)
    created = api.post(url, {"serial_number": " sn-0001 "}, format="json")
    assert created.status_code == 201 and created.json()["serial_number"] == "SN-0001"
    assert created.json()["source"] == "customer"
    again = api.post(url, {"serial_number": "SN-0001"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    for bad in ({"serial_number": "<script>"}, {"serial_number": "x" * 201}, {}, {"serial_number": ["A"]}):
        response = api.post(url, bad, format="json")
        assert response.status_code == 400 and "serial_number" in response.json()["fields"], bad
    assert (
        api.post(reverse("api-warranty-units", args=[order.number, 10**30]), {"serial_number": "A"}).status_code == 404
    )

    by_staff = as_user(api, agent).post(url, {"serial_number": "SN-0002"}, format="json")
    assert by_staff.status_code == 201 and by_staff.json()["source"] == "staff"
    full = api.post(url, {"serial_number": "SN-0003"}, format="json")  # two units, both registered
    assert full.status_code == 400 and "serial_number" in full.json()["fields"]
    listed = coverage(as_user(api, customer), order).json()["lines"][0]["units"]
    assert [u["serial_number"] for u in listed] == ["SN-0001", "SN-0002"]


# --- The storefront registers the serials it shipped -----------------------------------------------------

TOKEN = "warranty-shop-token-0123456789"


@pytest.fixture
def shop(db):
    storefront, _ = order_services.create_storefront(name="Warranty shop", token=TOKEN)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Storefront {TOKEN}")
    client.storefront = storefront
    return client


def post_units(client, order, serials, line_no=1):
    number = order if isinstance(order, str) else order.number
    body = {"order_number": number, "line_no": line_no, "serial_numbers": serials}
    return client.post(reverse("api-storefront-units"), body, format="json")


def test_R_WAR_1_the_storefront_registers_serials_on_its_own_orders_idempotently(shop, customer):
    order = factories.order_with_lines(customer=customer, lines=((Decimal("3999.00"), 3),))
    order.storefront = shop.storefront
    order.save(update_fields=["storefront"])
    response = post_units(shop, order, ["TV-1", "tv-2"])
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 2
    assert [(u["serial_number"], u["source"]) for u in response.json()["units"]] == [
        ("TV-1", "storefront"),
        ("TV-2", "storefront"),
    ]
    again = post_units(shop, order, ["TV-1", "TV-2", "TV-2"])
    assert again.status_code == 200 and again.json()["created"] == 0 and len(again.json()["units"]) == 2
    refused = post_units(shop, order, ["TV-3", "<bad>"])
    assert refused.status_code == 400 and "serial_numbers.1" in refused.json()["fields"]
    assert Unit.objects.filter(order_line__order=order).count() == 2  # all or nothing
    assert "serial_numbers" in post_units(shop, order, []).json()["fields"]
    assert "line_no" in post_units(shop, order, ["TV-3"], line_no="one").json()["fields"]
    assert post_units(shop, order, ["TV-3"], line_no=9).status_code == 404


def test_R_WAR_1_the_storefront_cannot_touch_other_orders_or_work_without_its_token(shop, customer):
    other, _ = order_services.create_storefront(name="Other shop")
    theirs = factories.order_with_lines(customer=customer, storefront=other)
    unclaimed = factories.order_with_lines(customer=customer)
    for order in (theirs, unclaimed):
        assert post_units(shop, order, ["TV-1"]).status_code == 404
    assert post_units(shop, "NO-SUCH-ORDER", ["TV-1"]).status_code == 404
    mine = factories.order_with_lines(customer=customer, storefront=shop.storefront)
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Storefront not-the-token")
    assert post_units(wrong, mine, ["TV-1"]).status_code == 401
    assert post_units(APIClient(), mine, ["TV-1"]).status_code == 401
    as_customer = APIClient()
    as_customer.force_authenticate(customer)  # a person's login is not a storefront's token
    assert post_units(as_customer, mine, ["TV-1"]).status_code in (401, 403)
    assert not Unit.objects.exists()


# Every field any step reads, for the junk test below.
STEP_FIELDS = sorted(
    {field for body in VALID.values() for field in body} | {"note", "exclusion", "explanation", "quote"}
)
JUNK = (
    [],
    "just a string",
    {"unexpected": True},
    dict.fromkeys(STEP_FIELDS),
    dict.fromkeys(STEP_FIELDS, 10**30),
    dict.fromkeys(STEP_FIELDS, "x" * 100_000),
    {key: {"nested": ["deep"]} for key in STEP_FIELDS},
    {key: ["a", "b"] for key in STEP_FIELDS},
    dict.fromkeys(STEP_FIELDS, "NaN"),
)


def test_junk_on_any_step_in_any_status_is_never_a_500(api, tv_order, agent, technician, supervisor):
    """The test client raises a view's exception instead of answering 500, so any crash fails here."""
    number = filed(api, tv_order)
    users = (tv_order.customer, agent, technician, supervisor)
    for prepare in ((agent, "receive", None), (technician, "start-diagnosis", None)):
        for user in users:
            api.force_authenticate(user)
            for step in (*VALID, "accept", "repaired", "payment"):  # the steps that read a body
                for junk in JUNK:
                    response = act(api, number, step, junk)
                    assert response.status_code < 500, (step, junk, response.status_code)
        user, step, data = prepare
        assert act(as_user(api, user), number, step, data).status_code == 200
    assert Case.objects.get(number=number).status == "diagnosing"
