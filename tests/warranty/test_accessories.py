"""R-WAR-6 accessory replacement (配件更换): a customer asks for an accessory of the product's category
instead of a repair, free for a wearing part while the unit is covered and otherwise sold at its price;
a priced part is paid first; staff ship it; the claim closes when the customer confirms (or by itself).
No unit is sent in. Through the services, the API, the portal and the repair board."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from aftersales.cases.deadlines import sweep_due_deadlines
from aftersales.cases.models import Case, CaseEvent
from aftersales.common.errors import InvalidTransition, NotAllowed, PolicyRefused, ValidationFailed
from aftersales.orders.models import Category
from tests.dashboard.conftest import form_data
from tests.returns.test_submit import photo
from tests.warranty.conftest import ALL_DOCUMENTS, tv_order_for
from warranty import services
from warranty.models import Accessory, Claim

pytestmark = pytest.mark.django_db


def tvs() -> Category:
    return Category.objects.get_or_create(slug="tvs", defaults={"name": "TVs"})[0]


@pytest.fixture
def remote(db):
    """A TV remote: not a wearing part, sold at 129.00."""
    return Accessory.objects.create(category=tvs(), name="Remote control", price=Decimal("129.00"))


@pytest.fixture
def battery(db):
    """The remote's rechargeable battery: a wearing part, free while covered."""
    return Accessory.objects.create(category=tvs(), name="Remote battery", price=Decimal("39.00"), wearing_part=True)


def ask(order, accessory, *, customer=None, documents=ALL_DOCUMENTS, **kwargs):
    return services.file_claim(
        customer=customer or order.customer,
        line=order.lines.get(),
        fault=kwargs.pop("fault", "controls"),
        description=kwargs.pop("description", "The remote's battery no longer holds a charge."),
        remedy="accessory",
        accessory=accessory,
        documents=documents,
        **kwargs,
    )


# --- Services ----------------------------------------------------------------------------------------------


def test_R_WAR_6_a_wearing_part_within_warranty_is_free_sent_and_closed(tv_order, battery, agent):
    case = ask(tv_order, battery, photos=[photo()])
    claim = Claim.objects.get(case=case)
    assert case.kind == "warranty" and case.status == "accessory_to_ship" and case.deadline_at is None
    assert (claim.accessory, claim.accessory_price, claim.amount_due) == (battery, Decimal("0.00"), Decimal("0.00"))
    assert claim.centre is None and claim.received_at is None  # no unit travels
    assert case.attachments.count() == 1
    note = case.events.get(to_status="accessory_to_ship").note
    assert "Remote battery is free" in note and "wearing part is free while the unit is under warranty" in note

    with pytest.raises(NotAllowed):  # the customer does not ship their own part
        services.ship_accessory(case=case, actor=tv_order.customer, carrier="SF", tracking_number="SF1")
    with pytest.raises(ValidationFailed) as bad:
        services.ship_accessory(case=case, actor=agent, carrier="", tracking_number="SF1")
    assert "carrier" in bad.value.fields
    case = services.ship_accessory(case=case, actor=agent, carrier="SF", tracking_number="SF100")
    claim.refresh_from_db()
    assert case.status == "accessory_shipped" and case.deadline_action == "confirm_receipt"
    assert (claim.outbound_carrier, claim.outbound_tracking_number) == ("SF", "SF100")
    assert case.events.get(to_status="accessory_shipped").actor == agent
    case = services.confirm_receipt(case=case, actor=tv_order.customer)
    assert case.status == "closed" and case.closed_at is not None


def test_R_WAR_6_a_part_that_does_not_wear_is_priced_paid_first_then_sent(tv_order, remote, agent):
    case = ask(tv_order, remote)
    claim = Claim.objects.get(case=case)
    assert case.status == "accessory_payment" and case.deadline_action == "accessory_unpaid"
    assert claim.accessory_price == claim.amount_due == Decimal("129.00")
    assert "Only wearing parts are free" in case.events.get(to_status="accessory_payment").note
    with pytest.raises(InvalidTransition):  # not paid: nothing to ship yet
        services.ship_accessory(case=case, actor=agent, carrier="SF", tracking_number="SF1")

    case = services.record_payment(case=case, actor=agent, reference="PAY-9")
    claim.refresh_from_db()
    assert case.status == "accessory_to_ship" and case.deadline_at is None and claim.amount_due_paid_at
    paid = case.events.get(to_status="accessory_to_ship")
    assert paid.actor == agent and "129.00" in paid.note and "PAY-9" in paid.note
    case = services.ship_accessory(case=case, actor=agent, carrier="SF", tracking_number="SF2")
    sweep_due_deadlines(now=case.deadline_at + timedelta(seconds=1))  # not confirmed: it closes by itself
    case.refresh_from_db()
    assert case.status == "closed"
    assert case.events.get(to_status="closed").note == "Closed: the accessory was delivered."


def test_R_WAR_6_a_wearing_part_after_the_warranty_is_sold_at_its_price(customer, battery):
    expired = tv_order_for(customer, days_ago=400)
    with pytest.raises(PolicyRefused):  # no repair any more…
        services.file_claim(
            customer=customer, line=expired.lines.get(), fault="display", description="x", documents=ALL_DOCUMENTS
        )
    case = ask(expired, battery, documents=[])  # …but the part is sold, and a purchase needs no invoice
    claim = Claim.objects.get(case=case)
    assert case.status == "accessory_payment" and claim.amount_due == Decimal("39.00")
    assert "The warranty has ended" in case.events.get(to_status="accessory_payment").note


def test_R_WAR_6_an_unpaid_part_is_cancelled_after_the_deadline_and_the_customer_may_cancel_before(tv_order, remote):
    case = ask(tv_order, remote)
    sweep_due_deadlines(now=case.deadline_at + timedelta(seconds=1))
    case.refresh_from_db()
    assert case.status == "cancelled"
    other = ask(tv_order, remote)
    assert services.cancel(case=other, customer=tv_order.customer).status == "cancelled"


def test_R_WAR_6_a_free_part_is_a_warranty_claim_and_needs_the_original_invoice(tv_order, battery):
    with pytest.raises(PolicyRefused) as refused:
        ask(tv_order, battery, documents=["warranty_card"])
    assert refused.value.rule == "R-WAR-4"
    assert not Case.objects.exists()


def test_R_WAR_6_only_the_products_own_accessories_and_never_on_another_customers_line(
    tv_order, remote, other_customer
):
    laptops = Category.objects.create(slug="laptops", name="Laptops")
    charger = Accessory.objects.create(category=laptops, name="Charger", price=Decimal("249.00"))
    retired = Accessory.objects.create(category=tvs(), name="Old remote", price=Decimal("9.00"), active=False)
    for accessory in (charger, retired):
        with pytest.raises(ValidationFailed) as bad:
            ask(tv_order, accessory)
        assert "accessory" in bad.value.fields
    with pytest.raises(ValidationFailed) as missing:
        ask(tv_order, None)
    assert "accessory" in missing.value.fields
    with pytest.raises(ValidationFailed) as wrong_remedy:
        services.file_claim(
            customer=tv_order.customer,
            line=tv_order.lines.get(),
            fault="display",
            description="x",
            documents=ALL_DOCUMENTS,
            accessory=remote,
        )
    assert "accessory" in wrong_remedy.value.fields
    with pytest.raises(NotAllowed):
        ask(tv_order, remote, customer=other_customer)
    assert not Case.objects.exists()


# --- API -------------------------------------------------------------------------------------------------


@pytest.fixture
def api():
    return APIClient()


def claim_body(order, **changes):
    data = {
        "line_id": order.lines.get().pk,
        "fault": "controls",
        "description": "The remote is lost.",
        "remedy": "accessory",
        "documents": ALL_DOCUMENTS,
    }
    return {**data, **changes}


def test_R_WAR_6_the_api_lists_the_accessories_at_todays_price_and_files_a_free_one(api, tv_order, battery, remote):
    api.force_authenticate(tv_order.customer)
    body = api.get(reverse("api-warranty-coverage", args=[tv_order.number])).json()
    offers = {a["name"]: a for a in body["lines"][0]["accessories"]}
    assert offers["Remote battery"]["price"] == "0.00" and offers["Remote battery"]["catalogue_price"] == "39.00"
    assert offers["Remote control"]["price"] == "129.00" and offers["Remote control"]["wearing_part"] is False

    response = api.post(reverse("api-warranty-claims"), claim_body(tv_order, accessory_id=battery.pk), format="json")
    assert response.status_code == 201, response.json()
    number = response.json()["number"]
    claim = api.get(reverse("api-warranty-claim", args=[number])).json()
    assert claim["status"] == "accessory_to_ship" and claim["accessory"]["name"] == "Remote battery"
    assert claim["accessory_price"] == "0.00" and "preparing Remote battery" in claim["next_step"]
    assert claim["available_actions"] == []


def test_R_WAR_6_a_priced_part_through_the_api_is_paid_then_shipped_then_confirmed(api, tv_order, remote, agent):
    api.force_authenticate(tv_order.customer)
    number = api.post(
        reverse("api-warranty-claims"), claim_body(tv_order, accessory_id=remote.pk), format="json"
    ).json()["number"]
    claim = api.get(reverse("api-warranty-claim", args=[number])).json()
    assert claim["status"] == "accessory_payment" and claim["amount_due"] == "129.00" and not claim["paid"]
    assert "Please pay 129.00 for Remote control" in claim["next_step"] and claim["available_actions"] == ["cancel"]

    api.force_authenticate(agent)
    staff = api.get(reverse("api-warranty-claim", args=[number])).json()
    assert staff["available_actions"] == ["payment"]
    early = api.post(reverse("api-warranty-ship-accessory", args=[number]), {"carrier": "SF", "tracking_number": "1"})
    assert early.status_code == 409
    paid = api.post(reverse("api-warranty-payment", args=[number]), {"reference": "PAY-1"}, format="json")
    assert paid.status_code == 200 and paid.json()["status"] == "accessory_to_ship" and paid.json()["paid"]
    assert paid.json()["available_actions"] == ["ship-accessory"]
    bad = api.post(reverse("api-warranty-ship-accessory", args=[number]), {"carrier": "SF"}, format="json")
    assert bad.status_code == 400 and "tracking_number" in bad.json()["fields"]
    shipped = api.post(
        reverse("api-warranty-ship-accessory", args=[number]), {"carrier": "SF", "tracking_number": "SF7"}
    )
    assert shipped.status_code == 200 and shipped.json()["status"] == "accessory_shipped"
    assert shipped.json()["outbound_tracking_number"] == "SF7"

    api.force_authenticate(tv_order.customer)
    assert api.get(reverse("api-warranty-claim", args=[number])).json()["available_actions"] == ["confirm-receipt"]
    closed = api.post(reverse("api-warranty-confirm-receipt", args=[number]))
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


@pytest.mark.parametrize(
    "changes",
    [
        {"accessory_id": 999_999},
        {"accessory_id": "remote"},
        {"accessory_id": 10**30},
        {"accessory_id": None},
        {},
        {"remedy": "repair", "accessory_id": "__remote__"},
    ],
)
def test_R_WAR_6_a_bad_accessory_id_is_a_400_on_its_field(api, tv_order, remote, changes):
    api.force_authenticate(tv_order.customer)
    if changes.get("accessory_id") == "__remote__":
        changes = {**changes, "accessory_id": remote.pk}
    response = api.post(reverse("api-warranty-claims"), claim_body(tv_order, **changes), format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid" and "accessory_id" in response.json()["fields"]
    assert not Case.objects.exists()


def test_R_WAR_6_another_categorys_accessory_is_a_400_and_another_customers_line_too(
    api, tv_order, remote, other_customer
):
    charger = Accessory.objects.create(
        category=Category.objects.create(slug="laptops", name="Laptops"), name="Charger", price=Decimal("249.00")
    )
    api.force_authenticate(tv_order.customer)
    response = api.post(reverse("api-warranty-claims"), claim_body(tv_order, accessory_id=charger.pk), format="json")
    assert response.status_code == 400 and "accessory_id" in response.json()["fields"]
    api.force_authenticate(other_customer)
    response = api.post(reverse("api-warranty-claims"), claim_body(tv_order, accessory_id=remote.pk), format="json")
    assert response.status_code == 400 and "line_id" in response.json()["fields"]
    assert api.get(reverse("api-warranty-coverage", args=[tv_order.number])).status_code == 404
    assert not Case.objects.exists()


# --- Portal ------------------------------------------------------------------------------------------------


def claim_url(line) -> str:
    return reverse("warranty:claim", args=[line.pk])


def test_R_WAR_6_the_claim_page_offers_the_accessories_and_files_one(client, tv_order, battery, remote):
    line = tv_order.lines.get()
    client.force_login(tv_order.customer)
    page = client.get(claim_url(line)).content.decode()
    assert 'name="remedy" value="accessory"' in page
    assert f'<option value="{battery.pk}">Remote battery · free</option>' in page
    assert f'<option value="{remote.pk}">Remote control · 129.00 CNY</option>' in page
    data = {
        "fault": "controls",
        "description": "Battery is dead",
        "remedy": "accessory",
        "accessory": str(remote.pk),
        "documents": ALL_DOCUMENTS,
    }
    response = client.post(claim_url(line), data)
    case = Case.objects.get()
    assert response.status_code == 302 and response.url == reverse("portal:case-detail", args=[case.number])
    assert case.status == "accessory_payment" and Claim.objects.get(case=case).accessory == remote
    page = client.get(response.url).content.decode()
    assert "Remote control · 129.00 CNY" in page and "not paid yet: we send the accessory once it is paid" in page


def test_R_WAR_6_a_bad_accessory_on_the_claim_page_is_a_form_error(client, tv_order, remote, other_customer):
    line = tv_order.lines.get()
    client.force_login(tv_order.customer)
    data = {"fault": "controls", "description": "Lost", "remedy": "accessory", "documents": ALL_DOCUMENTS}
    for accessory in ("", "999999", "abc"):
        response = client.post(claim_url(line), {**data, "accessory": accessory})
        assert response.status_code == 400
        assert 'role="alert"' in response.content.decode()
    client.force_login(other_customer)
    assert client.post(claim_url(line), {**data, "accessory": str(remote.pk)}).status_code == 404
    assert not Case.objects.exists()


def test_R_WAR_6_after_the_warranty_the_products_page_leads_to_the_accessories(client, customer, battery):
    line = tv_order_for(customer, days_ago=400).lines.get()
    client.force_login(customer)
    products = client.get(reverse("warranty:products")).content.decode()
    assert "Order an accessory or spare part" in products and claim_url(line) in products
    page = client.get(claim_url(line)).content.decode()
    assert "we can offer a paid repair instead" in page  # no repair any more (R-WAR-2)…
    assert 'name="remedy" value="accessory"' in page and "Remote battery · 39.00 CNY" in page  # …but parts
    assert 'name="remedy" value="repair"' not in page


def test_R_WAR_6_the_case_page_shows_the_sent_accessory_and_its_receipt_button(client, tv_order, battery, agent):
    case = services.ship_accessory(case=ask(tv_order, battery), actor=agent, carrier="SF", tracking_number="SF3")
    client.force_login(tv_order.customer)
    page = client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    assert "Remote battery · free" in page and "SF · SF3" in page and "I received the accessory" in page
    client.post(reverse("warranty:confirm-receipt", args=[case.number]), {"version": case.version})
    case.refresh_from_db()
    assert case.status == "closed"


# --- Repair board ---------------------------------------------------------------------------------------------


def test_R_WAR_6_staff_record_the_payment_and_ship_from_the_claim_page(client, tv_order, remote, agent):
    case = ask(tv_order, remote)
    change = reverse("admin:warranty_claim_change", args=[case.pk])
    client.force_login(agent)
    page = client.get(change).text
    assert "The customer owes 129.00 for Remote control; it is sent once it is paid." in page
    assert 'id="claim-ship-accessory"' not in page
    client.post(
        reverse("admin:warranty_claim_record_payment", args=[case.pk]),
        form_data(page, "claim-record-payment"),
    )
    case.refresh_from_db()
    assert case.status == "accessory_to_ship"
    page = client.get(change).text
    form = form_data(page, "claim-ship-accessory")
    client.post(
        reverse("admin:warranty_claim_ship_accessory", args=[case.pk]),
        {**form, "carrier": "SF", "tracking_number": "SF8"},
    )
    case.refresh_from_db()
    assert case.status == "accessory_shipped"
    assert CaseEvent.objects.get(case=case, to_status="accessory_shipped").actor == agent
