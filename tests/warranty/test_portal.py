"""The warranty portal: my products and their coverage, serial numbers, the one-page claim and the
customer's steps on a claim's case page (R-WAR-1 … R-WAR-10)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aftersales.cases.deadlines import sweep_due_deadlines
from aftersales.cases.models import Case
from aftersales.orders.guarantees import warranty_end, window_end
from aftersales.orders.models import Storefront
from returns.models import ReturnRequest
from tests import factories
from tests.returns.test_submit import photo
from tests.warranty.conftest import ALL_DOCUMENTS, tv_order_for
from tests.warranty.test_claims import excluded, file, repaired_and_shipped
from warranty import services
from warranty.models import Claim, Unit

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("warranty:products")
STEPS = ("tracking", "accept-quote", "decline-quote", "appeal", "take-replacement", "confirm-receipt")


def day(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d}"


def section(page: str, line) -> str:
    """One line's card on the products page."""
    start = page.index(f'id="line-{line.pk}"')
    return page[start : page.index("</section>", start)]


def fieldset(page: str, css: str) -> str:
    start = page.index(f'<fieldset class="card {css}"')
    return page[start : page.index("</fieldset>", start)]


def remedies(page: str) -> dict[str, tuple[str, bool]]:
    """{remedy: (the faults it is shown for, hidden?)} as the claim form lists them."""
    rows = re.findall(
        r'<div class="choice remedy" data-faults="([^"]*)"( hidden)?>\s*'
        r'<input type="radio" name="remedy" value="(\w+)"',
        page,
    )
    return {remedy: (faults, bool(hidden)) for faults, hidden, remedy in rows}


def claim_url(line) -> str:
    return reverse("warranty:claim", args=[line.pk])


def case_url(case) -> str:
    return reverse("portal:case-detail", args=[case.number])


def step_url(name: str, case) -> str:
    return reverse(f"warranty:{name}", args=[case.number])


def claim_data(**overrides) -> dict:
    data = {
        "fault": "display",
        "description": "Black screen after ten minutes",
        "remedy": "repair",
        "mode": "ship_in",
        "documents": ALL_DOCUMENTS,
        "photos": [photo()],
    }
    data.update(overrides)
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- My products & warranty (R-WAR-1, R-WAR-8) ----------------------------------------------------------


def test_R_WAR_1_the_page_lists_only_the_customers_own_lines_with_their_coverage_ends(client, customer, other_customer):
    recent = tv_order_for(customer, days_ago=20)
    ending = tv_order_for(customer, days_ago=350)  # ends inside the 30 reminder days
    ended = tv_order_for(customer, days_ago=400)
    gift = factories.add_gift(recent, main=recent.lines.get(), line_no=2, name="Free wall bracket")
    unsigned = factories.order_with_lines(customer=customer, signed_for_at=None)
    theirs = tv_order_for(other_customer)
    client.force_login(customer)
    response = client.get(PRODUCTS)
    page = response.content.decode()
    assert response.status_code == 200
    for order, css, badge in (
        (recent, "covered", "Covered"),
        (ending, "expiring", "Expires soon"),
        (ended, "expired", "Expired"),
    ):
        line = order.lines.get(gift_of=None)
        card = section(page, line)
        assert line.product_name in card and order.number in card and day(order.signed_for_at) in card
        assert f'<strong class="coverage-end">{day(warranty_end(order.signed_for_at, 12))}</strong>' in card
        assert f'<span class="badge warranty-{css}">{badge}</span>' in card
        assert (claim_url(line) in card) == (order is not ended)
    for stranger in (theirs.lines.get(), unsigned.lines.get(), gift):
        assert f'id="line-{stranger.pk}"' not in page and stranger.product_name not in page
    assert f'href="{PRODUCTS}" aria-current="page"' in page  # the portal's navigation leads here


def test_R_WAR_8_the_days_in_a_free_repair_extend_the_coverage_shown(client, customer, technician):
    order = tv_order_for(customer)
    line = order.lines.get()
    case = services.receive(case=file(order), actor=technician, now=timezone.now() - timedelta(days=12))
    case = services.start_diagnosis(case=case, actor=technician)
    case = services.diagnose(case=case, actor=technician, outcome="covered", notes="Backlight driver failed")
    case = services.ship_back(
        case=services.repaired(case=case, actor=technician), actor=technician, carrier="SF", tracking_number="SF9"
    )
    client.force_login(customer)
    card = section(client.get(PRODUCTS).content.decode(), line)
    extended = warranty_end(order.signed_for_at, 12) + timedelta(days=12)
    assert f'<strong class="coverage-end">{day(extended)}</strong>' in card
    assert "(includes 12 days in repair)" in card and "R-WAR-8" in card
    case_page = client.get(case_url(case)).content.decode()
    assert "your warranty is extended by these 12 days" in case_page


def test_R_WAR_1_registering_a_serial_number_on_the_products_page(client, customer):
    line = tv_order_for(customer).lines.get()
    url = reverse("warranty:register-serial", args=[line.pk])
    client.force_login(customer)
    bad = client.post(url, {"serial_number": "<script>", "page": "1"})
    assert bad.status_code == 400
    card = section(bad.content.decode(), line)
    assert "A serial number is letters and digits (and dashes), at most 64." in card
    assert 'aria-invalid="true"' in card and 'value="&lt;script&gt;"' in card
    assert not Unit.objects.exists()

    ok = client.post(url, {"serial_number": " tv-0001 ", "page": "1"})
    assert ok.status_code == 302 and ok.url == f"{PRODUCTS}?page=1#line-{line.pk}"
    unit = Unit.objects.get()
    assert (unit.order_line, unit.serial_number, unit.source) == (line, "TV-0001", "customer")
    page = client.get(ok.url)
    card = section(page.content.decode(), line)
    assert f"Serial number TV-0001 is registered for {line.product_name}." in messages_of(page)
    assert "<code>TV-0001</code>" in card and f'action="{url}"' not in card  # one unit, registered


def test_R_WAR_1_a_serial_known_on_another_customers_order_gets_the_same_answer_as_any_other(
    client, customer, other_customer
):
    theirs = tv_order_for(other_customer).lines.get()
    services.register_unit(line=theirs, serial_number="SN-TAKEN", source="customer", customer=other_customer)
    first, second = tv_order_for(customer).lines.get(), tv_order_for(customer).lines.get()
    client.force_login(customer)
    taken = client.post(reverse("warranty:register-serial", args=[first.pk]), {"serial_number": "SN-TAKEN"})
    fresh = client.post(reverse("warranty:register-serial", args=[second.pk]), {"serial_number": "SN-FRESH"})
    assert taken.status_code == fresh.status_code == 302
    assert taken.url.replace(str(first.pk), "#") == fresh.url.replace(str(second.pk), "#")
    said_taken, said_fresh = messages_of(client.get(PRODUCTS))
    assert said_taken.replace("SN-TAKEN", "?").replace(first.product_name, "?") == said_fresh.replace(
        "SN-FRESH", "?"
    ).replace(second.product_name, "?")
    assert Unit.objects.filter(serial_number="SN-TAKEN").count() == 2


# --- The claim form (R-WAR-2, R-WAR-4, R-WAR-9) -------------------------------------------------------------


def test_R_WAR_2_the_claim_form_offers_the_remedies_open_today_with_dates_and_rules(client, customer):
    late = tv_order_for(customer, days_ago=20)
    early = tv_order_for(customer, days_ago=5)
    client.force_login(customer)
    page = client.get(claim_url(late.lines.get())).content.decode()
    assert remedies(page) == {"repair": ("*", False)}
    rows = fieldset(page, "remedies")
    assert f"open until {day(warranty_end(late.signed_for_at, 12))}" in rows and "R-WAR-2" in rows
    assert "Without these the claim is refused: Original invoice (a copy is not valid)" in page
    page = client.get(claim_url(early.lines.get())).content.decode()
    assert list(remedies(page)) == ["return", "exchange", "repair"]
    rows = fieldset(page, "remedies")
    assert f"open until {day(window_end(early.signed_for_at, 7))}" in rows
    assert f"open until {day(window_end(early.signed_for_at, 15))}" in rows
    for field in ('name="fault"', 'name="description"', 'name="documents"', 'name="mode"', 'name="photos"'):
        assert field in page
    assert 'type="file" name="photos" id="id_photos" multiple' in page and '<label for="id_photos">' in page


def test_R_WAR_2_no_form_once_the_warranty_has_ended(client, customer):
    line = tv_order_for(customer, days_ago=400).lines.get()
    client.force_login(customer)
    page = client.get(claim_url(line)).content.decode()
    assert "we can offer a paid repair instead" in page and "(R-WAR-2)" in page
    assert 'id="claim-form"' not in page


def test_R_WAR_5_filing_a_repair_opens_the_claim_and_leads_to_its_page(client, customer):
    order = tv_order_for(customer)
    line = order.lines.get()
    client.force_login(customer)
    response = client.post(claim_url(line), claim_data())
    case = Case.objects.get(order=order)
    assert response.status_code == 302 and response.url == case_url(case)
    claim = Claim.objects.get(case=case)
    assert (case.kind, case.status, claim.order_line, claim.fault) == ("warranty", "awaiting_unit", line, "display")
    assert claim.description == "Black screen after ten minutes" and case.attachments.count() == 1
    page = client.get(response.url)
    assert f"Your claim {case.number} was filed." in messages_of(page)
    assert "Screen or picture" in page.content.decode()


def test_R_WAR_4_a_missing_original_invoice_re_renders_with_the_rule_and_files_nothing(client, customer):
    order = tv_order_for(customer)
    client.force_login(customer)
    response = client.post(
        claim_url(order.lines.get()), claim_data(documents=["warranty_card", "accessories", "packaging", "manual"])
    )
    assert response.status_code == 400
    page = response.content.decode()
    top = page[page.index('<div class="error-summary" role="alert"') :]  # the form's first element
    assert top.index(
        '<p class="error-summary-title"><strong>A warranty claim needs: Original invoice (a copy is not '
        'valid).</strong> <span class="rule">(R-WAR-4)</span>'
    ) < top.index("<fieldset")
    documents = fieldset(page, "documents")
    assert '<ul class="errorlist" id="id_documents_error"><li>A warranty claim needs: Original invoice' in documents
    assert 'aria-describedby="id_documents_helptext id_documents_error"' in documents
    # What was typed and ticked stays.
    assert 'value="display" id="id_fault_1" checked' in page and "Black screen after ten minutes</textarea>" in page
    assert 'value="warranty_card" id="id_documents_1" aria-invalid="true" checked' in page  # the boxes are in error
    assert not Case.objects.exists() and not Claim.objects.exists()


def test_R_WAR_2_exchange_on_day_5_opens_an_exchange_case(client, customer):
    order = tv_order_for(customer, days_ago=5)
    client.force_login(customer)
    response = client.post(claim_url(order.lines.get()), claim_data(remedy="exchange"))
    case = Case.objects.get(order=order)
    assert response.status_code == 302 and response.url == case_url(case)
    assert case.kind == "exchange" and ReturnRequest.objects.get(case=case).reason == "quality"
    assert not Claim.objects.exists()


def test_R_WAR_2_a_remedy_closed_today_is_refused_by_the_service(client, customer):
    order = tv_order_for(customer, days_ago=20)
    client.force_login(customer)
    response = client.post(claim_url(order.lines.get()), claim_data(remedy="return"))
    page = response.content.decode()
    assert response.status_code == 400 and "Return &amp; refund is not open for this item today." in page
    assert "Choose one of the remedies open today." in fieldset(page, "remedies")
    assert not Case.objects.exists()


def test_R_WAR_9_a_fault_repaired_twice_opens_a_replacement_for_that_fault_only(client, customer, technician):
    order = tv_order_for(customer, days_ago=20)
    line = order.lines.get()
    for _round in range(2):
        services.confirm_receipt(case=repaired_and_shipped(file(order), technician), actor=customer)
    client.force_login(customer)
    page = client.get(claim_url(line)).content.decode()
    assert remedies(page) == {"return": ("display", False), "exchange": ("display", False), "repair": ("*", False)}
    assert "R-WAR-9" in fieldset(page, "remedies")
    assert remedies(client.get(claim_url(line) + "?fault=audio").content.decode())["exchange"] == ("display", True)
    refused = client.post(claim_url(line), claim_data(fault="audio", remedy="exchange"))
    assert refused.status_code == 400 and "Exchange is not open for this item today." in refused.content.decode()
    response = client.post(claim_url(line), claim_data(fault="display", remedy="exchange"))
    case = Case.objects.get(kind="exchange")
    assert response.status_code == 302 and response.url == case_url(case)


def test_a_claim_names_one_of_the_lines_registered_units(client, customer, other_customer):
    order = factories.order_with_lines(
        customer=customer, lines=((Decimal("899.00"), 2),), signed_for_at=timezone.now() - timedelta(days=20)
    )
    line = order.lines.get()
    unit = services.register_unit(line=line, serial_number="HP-1", source="customer", customer=customer)
    foreign = services.register_unit(
        line=tv_order_for(other_customer).lines.get(), serial_number="HP-1", source="customer", customer=other_customer
    )
    client.force_login(customer)
    page = client.get(claim_url(line) + f"?unit={unit.pk}").content.decode()
    assert '<label for="id_unit">Which unit?</label>' in page
    assert f'<option value="{unit.pk}" selected>HP-1</option>' in page
    assert "A unit without a registered serial number" in page  # one of the two units has no serial yet
    bad = client.post(claim_url(line), claim_data(unit=foreign.pk))
    assert bad.status_code == 400 and "Select a valid choice." in bad.content.decode()
    assert client.post(claim_url(line), claim_data(unit=unit.pk)).status_code == 302
    assert Claim.objects.get().unit == unit


# --- The claim's case page and the customer's steps ----------------------------------------------------------


def test_the_case_page_shows_the_claims_facts_and_only_the_forms_open_in_its_status(
    client, customer, agent, technician, supervisor, centre
):
    customer.region = "上海"
    customer.save()
    order = tv_order_for(customer)
    centre.phone = "021-5555 0100"
    centre.save()
    centre.brands.add(order.lines.get().product.brand)
    case = file(order, documents=["original_invoice", "accessories"])
    case = services.accept(case=case, actor=agent)
    client.force_login(customer)
    page = client.get(case_url(case)).content.decode()
    assert "Your warranty claim" in page and "Screen or picture" in page
    assert centre.name in page and centre.address in page and "021-5555 0100" in page
    assert "Warranty card, Original packaging, Manual" in page  # missing, recorded (R-WAR-4)
    assert f"<strong>{timezone.localtime(case.deadline_at):%Y-%m-%d %H:%M}</strong>" in page  # send it by
    assert f'action="{step_url("tracking", case)}"' in page
    for name in ("accept-quote", "decline-quote", "appeal", "take-replacement", "confirm-receipt"):
        assert f'action="{step_url(name, case)}"' not in page
    assert "Cancel my claim" in page  # the case page's own button, once

    case = services.receive(case=case, actor=agent)
    case = services.start_diagnosis(case=case, actor=technician)
    case = services.diagnose(
        case=case,
        actor=technician,
        outcome="excluded",
        notes="Liquid inside",
        exclusion="accident",
        explanation="Liquid damage on the main board.",
        quote="850.00",
        photos=[photo()],
    )
    page = client.get(case_url(case)).content.decode()
    assert "Accidental damage (a drop, a liquid)" in page and "Liquid damage on the main board." in page
    assert "Accept the paid repair (850.00 CNY)" in page
    for name in ("accept-quote", "decline-quote", "appeal"):
        assert f'action="{step_url(name, case)}"' in page
    assert f'action="{step_url("tracking", case)}"' not in page and "Cancel my claim" not in page
    assert 'name="name" value="accept_quote"' not in page  # no generic button bypasses the service

    case = services.appeal(case=case, customer=customer, text="It was never near water.")
    case = services.decide_appeal(case=case, actor=supervisor, overturn=False, note="Corrosion on the board.")
    page = client.get(case_url(case)).content.decode()
    assert "It was never near water." in page and f'action="{step_url("appeal", case)}"' not in page
    assert f'action="{step_url("accept-quote", case)}"' in page

    client.force_login(agent)  # staff see the facts, not the customer's forms
    page = client.get(case_url(case)).content.decode()
    assert "Liquid damage on the main board." in page and f'action="{step_url("accept-quote", case)}"' not in page


def test_R_WAR_5_the_customer_enters_the_tracking_number(client, customer):
    case = file(tv_order_for(customer))
    client.force_login(customer)
    bad = client.post(step_url("tracking", case), {"carrier": "SF", "tracking_number": " "}, follow=True)
    assert "Tracking number: This field is required." in " ".join(messages_of(bad))
    assert Claim.objects.get(case=case).tracking_number == ""
    ok = client.post(step_url("tracking", case), {"carrier": "SF", "tracking_number": "SF123"})
    assert ok.status_code == 302 and ok.url == case_url(case)
    case.refresh_from_db()
    assert Claim.objects.get(case=case).tracking_number == "SF123" and case.deadline_at is None
    page = client.get(case_url(case)).content.decode()
    assert "SF · SF123" in page and "Correct the tracking number" in page


def test_R_WAR_3_accepting_the_quote_on_the_portal_makes_it_a_paid_repair(client, customer, technician):
    case = excluded(tv_order_for(customer), technician)
    client.force_login(customer)
    generic = client.post(case_url(case), {"action": "transition", "name": "accept_quote", "version": case.version})
    assert generic.status_code == 302
    case.refresh_from_db()
    assert case.status == "excluded"  # the generic button may not skip the amount owed
    stale = client.post(step_url("accept-quote", case), {"version": case.version - 1}, follow=True)
    assert "changed by someone else" in " ".join(messages_of(stale))
    response = client.post(step_url("accept-quote", case), {"version": case.version})
    assert response.status_code == 302 and response.url == case_url(case)
    case.refresh_from_db()
    claim = Claim.objects.get(case=case)
    assert case.status == "repairing" and claim.amount_due == Decimal("850.00") and claim.quote_accepted_at
    page = client.get(case_url(case)).content.decode()
    assert "not paid yet: the unit ships back once it is paid" in page
    assert f'action="{step_url("accept-quote", case)}"' not in page


def test_R_WAR_3_an_appeal_once_on_the_portal_and_declining_after_it(client, customer, technician, supervisor):
    case = excluded(tv_order_for(customer), technician)
    client.force_login(customer)
    empty = client.post(step_url("appeal", case), {"version": case.version, "text": "  "}, follow=True)
    assert "Tell us why you disagree." in " ".join(messages_of(empty))
    response = client.post(step_url("appeal", case), {"version": case.version, "text": "It was never near water."})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "appealed" and Claim.objects.get(case=case).appeal_text == "It was never near water."
    case = services.decide_appeal(case=case, actor=supervisor, overturn=False, note="Corrosion on the board.")
    again = client.post(step_url("appeal", case), {"version": case.version, "text": "Again"}, follow=True)
    assert "This decision was already appealed once. (R-WAR-3)" in messages_of(again)
    case.refresh_from_db()
    assert case.status == "excluded"
    client.post(step_url("decline-quote", case), {"version": case.version})
    case.refresh_from_db()
    assert case.status == "returning"


def test_R_WAR_5_confirming_receipt_on_the_portal_closes_the_claim(client, customer, technician):
    case = repaired_and_shipped(file(tv_order_for(customer)), technician)
    client.force_login(customer)
    page = client.get(case_url(case)).content.decode()
    assert "SF · SF100" in page and f'action="{step_url("confirm-receipt", case)}"' in page
    assert 'name="name" value="confirm_receipt"' not in page  # one button for it, not two
    client.post(step_url("confirm-receipt", case), {"version": case.version})
    case.refresh_from_db()
    assert case.status == "closed"
    page = client.get(case_url(case)).content.decode()
    assert f'action="{step_url("confirm-receipt", case)}"' not in page and "How did we do?" in page


def test_R_WAR_10_taking_the_free_replacement_on_the_portal(client, customer, technician):
    case = services.receive(
        case=file(tv_order_for(customer)), actor=technician, now=timezone.now() - timedelta(days=31)
    )
    case = services.start_diagnosis(case=case, actor=technician)
    case = services.diagnose(case=case, actor=technician, outcome="covered", notes="Waiting for a part")
    client.force_login(customer)
    assert f'action="{step_url("take-replacement", case)}"' not in client.get(case_url(case)).content.decode()
    early = client.post(step_url("take-replacement", case), {"version": case.version}, follow=True)
    assert "No replacement has been offered for this repair. (R-WAR-10)" in messages_of(early)
    sweep_due_deadlines()
    case.refresh_from_db()
    page = client.get(case_url(case)).content.decode()
    assert "as the repair is taking long" in page and f'action="{step_url("take-replacement", case)}"' in page
    client.post(step_url("take-replacement", case), {"version": case.version})
    case.refresh_from_db()
    replacement = Claim.objects.get(case=case).handed_over_to
    assert case.status == "handed_over" and replacement.kind == "reissue"
    assert f'href="{case_url(replacement)}"' in client.get(case_url(case)).content.decode()


# --- Access and forgery -----------------------------------------------------------------------------------


def test_another_customer_gets_404_on_every_warranty_page_and_post(client, customer, other_customer, technician):
    order = tv_order_for(customer)
    line = order.lines.get()
    case = excluded(order, technician)
    client.force_login(other_customer)
    assert line.product_name not in client.get(PRODUCTS).content.decode()
    assert client.get(claim_url(line)).status_code == 404
    assert client.post(claim_url(line), claim_data()).status_code == 404
    assert client.post(reverse("warranty:register-serial", args=[line.pk]), {"serial_number": "X1"}).status_code == 404
    for name in STEPS:
        data = {"version": case.version, "text": "x", "carrier": "SF", "tracking_number": "1"}
        assert client.post(step_url(name, case), data).status_code == 404, name
    assert client.get(case_url(case)).status_code == 404
    case.refresh_from_db()
    assert case.status == "excluded" and Case.objects.count() == 1 and not Unit.objects.exists()
    client.logout()
    assert client.get(PRODUCTS).status_code == 302  # to the log-in page


def test_warranty_forms_carry_a_csrf_token_and_a_post_without_one_is_refused(customer):
    client = Client(enforce_csrf_checks=True)
    order = tv_order_for(customer)
    line = order.lines.get()
    client.force_login(customer)
    form = client.get(claim_url(line)).content.decode().split('id="claim-form"', 1)[1]
    assert form.split("</form>")[0].count('name="csrfmiddlewaretoken"') == 1
    card = section(client.get(PRODUCTS).content.decode(), line)
    assert 'class="serial-form"><input type="hidden" name="csrfmiddlewaretoken"' in card
    assert client.post(claim_url(line), claim_data()).status_code == 403
    assert client.post(reverse("warranty:register-serial", args=[line.pk]), {"serial_number": "X1"}).status_code == 403
    assert not Case.objects.exists() and not Unit.objects.exists()


def test_R_WAR_3_a_repair_quote_owed_links_to_the_storefront_payment_page(client, customer, technician):
    order = tv_order_for(customer)
    order.storefront = Storefront.objects.create(
        name="Web shop",
        token_sha256="b" * 64,
        token_hint="bbbb",
        payment_url="https://shop.example/pay/{case}/{amount}",
    )
    order.save(update_fields=["storefront"])
    case = excluded(order, technician)
    client.force_login(customer)
    client.post(step_url("accept-quote", case), {"version": case.version})
    page = client.get(case_url(case)).content.decode()
    assert f'<a class="button" href="https://shop.example/pay/{case.number}/850.00">Pay 850.00 CNY</a>' in page
