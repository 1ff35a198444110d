"""R-RET-9 in a real browser: the customer applies for a return with a photo on the portal, prints the
label and enters the tracking number; an agent approves, receives and inspects in the dashboard; the
refund is queued for finance. Two browser contexts, each logged in through its real login page."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from aftersales.cases.models import Case
from aftersales.finance.models import Refund
from returns.models import ReturnRequest
from tests import factories

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EXPECTED_FINAL_STATUS = "refund_pending"


def status_heading(page, case):
    """The case page's title: its number and the status label the database gives now."""
    case.refresh_from_db()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{case.number} {case.get_status_display()}")


def test_return_with_a_photo_from_application_to_refund(log_in, browser_problems, screenshots, tmp_path):
    shots = screenshots / "returns"
    shots.mkdir(exist_ok=True)
    customer = factories.CustomerFactory()
    agent = factories.StaffFactory(role="agent")
    # Signed for 2 days ago; the factory's category (Phones) allows returns. 1999.00 is over the
    # auto-approval limit, and a quality problem needs photos: an agent decides.
    order = factories.order_with_lines(customer=customer, signed_for_at=timezone.now() - timedelta(days=2))
    line = order.lines.get()
    photo = tmp_path / "cracked-screen.png"
    Image.new("RGB", (320, 240), (200, 40, 40)).save(photo)

    # Customer: the order's options, then the one-page application.
    shop = log_in(customer, reverse("returns:order-options", args=[order.number]))
    expect(shop.get_by_role("heading", name="After-sales options")).to_be_visible()
    quality_return = shop.get_by_role("row").filter(has_text="Return & refund").filter(has_text="Quality problem")
    expect(quality_return).to_contain_text("required")  # photos
    shop.screenshot(path=shots / "01-options.png", full_page=True)
    shop.get_by_role("link", name="Apply for a return or exchange").click()
    expect(shop).to_have_url(re.compile(re.escape(reverse("returns:apply", args=[order.number])) + "$"))

    shop.get_by_label("Return & refund · Quality problem").check()
    shop.get_by_label(f"Quantity of {line.product_name}").fill("1")
    shop.get_by_label("Describe the problem").fill("The screen flickers and then goes black after a minute.")
    shop.get_by_label("Photos").set_input_files(photo)
    expect(shop.get_by_role("img", name="cracked-screen.png")).to_be_visible()  # the preview
    shop.screenshot(path=shots / "02-apply-filled.png", full_page=True)
    shop.get_by_role("button", name="Submit request").click()
    expect(shop).to_have_url(re.compile(r"/cases/RMA-[^/]+/$"))

    case = Case.objects.get(order=order)
    assert case.status == "submitted"
    expect(shop.get_by_text(f"Your request {case.number} was submitted.")).to_be_visible()
    status_heading(shop, case)
    expect(shop.get_by_role("img", name="cracked-screen.png")).to_be_visible()
    shop.screenshot(path=shots / "03-case-submitted.png", full_page=True)

    # Agent: the returns queue, the request with its photo, approve.
    desk = log_in(agent, reverse("admin:returns_returnrequest_changelist"))
    desk.get_by_role("link", name=case.number).click()
    thumbnail = desk.get_by_role("img", name="cracked-screen.png")
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth") == 320  # served, not a broken image
    desk.screenshot(path=shots / "04-dashboard-request.png", full_page=True)
    desk.get_by_label("Note for the customer (optional)").fill("Please send it back with its charger.")
    desk.get_by_role("button", name="Approve").click()
    expect(desk.get_by_text(f"Case {case.number} is now: Approved: awaiting your parcel.")).to_be_visible()
    case.refresh_from_db()
    assert case.status == "awaiting_parcel"

    # Customer: approved; the printable label opens in a new tab; the tracking number.
    shop.reload()
    status_heading(shop, case)
    with shop.context.expect_page() as new_tab:
        shop.get_by_role("link", name="Print the return label").click()
    label = new_tab.value
    expect(label).to_have_url(re.compile(re.escape(reverse("returns:label", args=[case.number])) + "$"))
    expect(label.locator("body")).to_contain_text(case.number)
    expect(label.locator("body")).to_contain_text(line.product_name)
    label.screenshot(path=shots / "05-label.png", full_page=True)
    label.close()

    shop.get_by_label("Carrier").fill("SF Express")
    shop.get_by_label("Tracking number").fill("SF1234567890")
    shop.get_by_role("button", name="I have shipped the parcel").click()
    expect(shop.get_by_text("Thank you: the tracking number was saved.")).to_be_visible()
    expect(shop.get_by_text("SF Express · SF1234567890")).to_be_visible()
    shop.screenshot(path=shots / "06-case-after-tracking.png", full_page=True)
    request = ReturnRequest.objects.get(case=case)
    assert (request.carrier, request.tracking_number) == ("SF Express", "SF1234567890")

    # Agent: the parcel arrives and passes inspection with nothing deducted.
    desk.reload()
    desk.get_by_role("button", name="Parcel received").click()
    expect(desk.get_by_text(f"Case {case.number} is now: Parcel received.")).to_be_visible()
    desk.get_by_label("Passed", exact=True).check()
    desk.get_by_label("What was found").fill("As described: the screen flickers. Complete, no other damage.")
    desk.get_by_label("Deductions for the condition").fill("0.00")
    desk.get_by_role("button", name="Record the inspection").click()
    expect(desk.get_by_role("button", name="Record the inspection")).to_have_count(0)  # back on the page
    case.refresh_from_db()
    expect(desk.get_by_text(f"Case {case.number} is now: {case.get_status_display()}.")).to_be_visible()

    # The end: the database and the customer's page agree; finance has the refund to pay.
    case.refresh_from_db()
    assert case.status == EXPECTED_FINAL_STATUS
    request.refresh_from_db()
    assert request.deductions == Decimal("0.00") and request.refund_estimate == Decimal("1999.00")
    refund = Refund.objects.get(case=case)
    assert (refund.order, refund.source, refund.amount) == (order, Refund.Source.RETURN, request.refund_estimate)
    shop.reload()
    status_heading(shop, case)
    shop.screenshot(path=shots / "07-case-final.png", full_page=True)
    assert browser_problems == []  # every stylesheet, script and photo loaded; no script failed
