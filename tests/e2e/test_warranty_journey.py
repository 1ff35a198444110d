"""R-WAR-2 / R-WAR-5 in a real browser: a customer files a claim for a TV on day 20 (only a repair is
open), sends the unit; a technician receives it, diagnoses it as covered, repairs it and ships it back
from the repair board; the customer confirms receipt and rates the repair."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from aftersales.cases.models import Case, Feedback
from tests import factories
from tests.warranty.conftest import tv_order_for
from warranty.models import Claim

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_tv_repaired_under_warranty_from_claim_to_rating(log_in, browser_problems, screenshots, tmp_path):
    shots = screenshots / "warranty"
    shots.mkdir(exist_ok=True)
    customer = factories.CustomerFactory()
    technician = factories.StaffFactory(role="technician")
    order = tv_order_for(customer, days_ago=20, price=Decimal("3999.00"))
    line = order.lines.get()
    photo = tmp_path / "black-screen.png"
    Image.new("RGB", (320, 240), (10, 10, 10)).save(photo)
    assert timezone.now() - order.signed_for_at >= timedelta(days=20)

    # Customer: My products → the claim form; on day 20 the ladder leaves only a repair (R-WAR-2).
    shop = log_in(customer, reverse("warranty:products"))
    expect(shop.get_by_role("heading", level=1)).to_have_text("My products & warranty")
    shop.get_by_role("link", name="File a warranty claim").click()
    expect(shop.get_by_role("heading", level=1)).to_have_text(f"Warranty claim for {line.product_name}")
    expect(shop.get_by_label("Free repair")).to_be_visible()
    expect(shop.get_by_label("Return & refund")).to_have_count(0)
    shop.get_by_label("Screen or picture").check()
    shop.get_by_label("Describe the fault").fill("The picture goes black after ten minutes; the sound stays.")
    shop.get_by_label("Photos").set_input_files(photo)
    shop.get_by_label("Free repair").check()
    for document in ("Original invoice (a copy is not valid)", "Warranty card", "All accessories"):
        shop.get_by_label(document).check()
    shop.get_by_label("Original packaging").check()
    shop.get_by_label("Manual").check()
    shop.screenshot(path=shots / "journey-01-claim.png", full_page=True)
    shop.get_by_role("button", name="Submit claim").click()
    expect(shop).to_have_url(re.compile(r"/cases/WAR-[^/]+/$"))
    case = Case.objects.get(kind="warranty", customer=customer)
    assert case.status == "awaiting_unit"  # documents complete: accepted at once
    shop.get_by_label("Carrier").fill("SF Express")
    shop.get_by_label("Tracking number").fill("SF1234567890")
    shop.get_by_role("button", name="I have sent the unit").click()
    expect(shop.get_by_text("SF1234567890").first).to_be_visible()

    # Technician: the repair board → receive, diagnose covered, repair, ship back.
    board = log_in(technician, reverse("admin:warranty_claim_changelist"))
    board.get_by_role("link", name=case.number, exact=True).click()
    board.get_by_role("button", name="Unit received").click()
    expect(board.get_by_text(f"Case {case.number} is now: Unit received.")).to_be_visible()
    board.get_by_role("button", name="Start diagnosis").click()
    board.get_by_label("Covered: free repair").check()
    board.get_by_label("What was found (shown to the customer)").fill("Backlight driver failed; replaced.")
    board.get_by_role("button", name="Record the diagnosis").click()
    expect(board.get_by_text(f"Case {case.number} is now: Being repaired.")).to_be_visible()
    board.get_by_role("button", name="Repair done: to quality check").click()
    expect(board.get_by_text(f"Case {case.number} is now: Quality check.")).to_be_visible()
    board.locator("#id_ship_back_carrier").fill("SF Express")
    board.locator("#id_ship_back_tracking").fill("SF9876543210")
    board.get_by_role("button", name="Shipped back").click()
    expect(board.get_by_text(f"Case {case.number} is now: Repaired and shipped back.")).to_be_visible()
    board.screenshot(path=shots / "journey-02-shipped.png", full_page=True)

    # Customer: confirms receipt and rates the repair (R-FB-1).
    shop.goto(reverse("portal:case-detail", args=[case.number]))
    shop.get_by_role("button", name="I received my unit").click()
    expect(shop.get_by_role("heading", level=1)).to_contain_text("Closed")
    shop.get_by_label("★★★★★ 5/5", exact=True).check()
    shop.get_by_label("Comment").fill("Fixed in a few days, thank you.")
    shop.get_by_role("button", name="Rate").click()
    expect(shop.get_by_text("5/5").first).to_be_visible()
    shop.screenshot(path=shots / "journey-03-rated.png", full_page=True)

    case.refresh_from_db()
    claim = Claim.objects.get(case=case)
    assert case.status == "closed" and claim.diagnosis == "covered" and claim.outbound_tracking_number
    assert Feedback.objects.get(case=case).rating == 5
    assert browser_problems == []
