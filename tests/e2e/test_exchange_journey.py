"""R-RET-5, R-RET-9 and R-RET-15 in a real browser: the customer exchanges a phone for a dearer variant
of the same model on the portal and owes the price difference, so an agent reviews the request (no
auto-approval while money is due); the customer ships the phone back, the agent receives and inspects
it, cannot ship the replacement until the difference is paid, records the payment and ships; the
customer confirms receipt and the case is completed. The other direction (a cheaper variant: the
difference is refunded, R-FIN-1) is approved automatically and asserted in the database and on the
customer's case page."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from aftersales.cases.models import Case
from aftersales.finance.models import Refund
from aftersales.orders.models import OrderLine
from returns import services
from returns.models import ReturnRequest
from tests import factories

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EXPECTED_FINAL_STATUS = "completed"


def phone_order(customer, product, *, days_ago=2):
    """One unit of `product`, paid in full at its price, signed for `days_ago` days ago."""
    order = factories.OrderFactory(
        customer=customer,
        goods_total=product.price,
        paid_total=product.price,
        signed_for_at=timezone.now() - timedelta(days=days_ago),
    )
    OrderLine.objects.create(
        order=order,
        line_no=1,
        product=product,
        product_name=product.name,
        quantity=1,
        unit_price=product.price,
        paid_amount=product.price,
    )
    return order


def variant(sku: str, name: str, price: str):
    return factories.ProductFactory(sku=sku, name=name, model_code="P60", price=Decimal(price))


def status_heading(page, case):
    """The case page's title: its number and the status label the database gives now."""
    case.refresh_from_db()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{case.number} {case.get_status_display()}")


def test_exchange_for_a_dearer_variant_from_application_to_receipt(log_in, browser_problems, screenshots):
    shots = screenshots / "exchanges"
    shots.mkdir(exist_ok=True)
    customer = factories.CustomerFactory()
    agent = factories.StaffFactory(role="agent")
    # Three variants of one model (R-RET-5: an exchange may pick another variant of the same model).
    bought = variant("P60-128", "Aurora P60 128 GB", "1999.00")
    dearer = variant("P60-256", "Aurora P60 256 GB", "2299.00")
    cheaper = variant("P60-64", "Aurora P60 64 GB", "1799.00")
    order = phone_order(customer, bought)

    # Customer: the options, then an exchange for the 256 GB variant; the datalist offers the variants.
    shop = log_in(customer, reverse("returns:order-options", args=[order.number]))
    exchange_option = shop.get_by_role("row").filter(has_text="Exchange").filter(has_text="No reason (7-day return)")
    expect(exchange_option).to_be_visible()
    shop.get_by_role("link", name="Apply for a return or exchange").click()
    shop.get_by_label("Exchange · No reason (7-day return)").check()
    shop.get_by_label(f"Quantity of {bought.name}").fill("1")
    shop.get_by_label("Describe the problem").fill("I need more storage: please swap it for the 256 GB one.")
    sku_field = shop.get_by_label("SKU of the product you want instead")
    expect(sku_field).to_be_visible()  # shown for exchanges only
    expect(shop.locator("#exchange-variants option[value='P60-256']")).to_have_text("Aurora P60 256 GB · 2,299.00 CNY")
    expect(shop.locator("#exchange-variants option")).to_have_count(3)  # the model's variants, cheapest first
    sku_field.fill(dearer.sku)
    shop.screenshot(path=shots / "01-apply-exchange.png", full_page=True)
    shop.get_by_role("button", name="Submit request").click()
    expect(shop).to_have_url(re.compile(r"/cases/RMA-[^/]+/$"))

    # R-RET-5: the customer owes 2299.00 − 1999.00; R-RET-15: money due means an agent looks first.
    case = Case.objects.get(order=order)
    request = ReturnRequest.objects.get(case=case)
    assert (case.kind, case.status) == ("exchange", "submitted")
    assert request.exchange_product == dearer and not request.auto_approved
    assert (request.amount_due, request.refund_estimate) == (Decimal("300.00"), Decimal("0.00"))
    status_heading(shop, case)
    expect(shop.get_by_text("Aurora P60 256 GB (P60-256)")).to_be_visible()
    expect(shop.get_by_text("300.00 CNY · not paid yet: the replacement ships once it is paid")).to_be_visible()
    shop.screenshot(path=shots / "02-case-submitted.png", full_page=True)

    # Agent: the request in the returns queue shows the amount due; approve.
    desk = log_in(agent, reverse("admin:returns_returnrequest_changelist"))
    desk.get_by_role("link", name=case.number).click()
    expect(desk.locator(".field-amount_due .readonly")).to_have_text("300.00")
    expect(desk.locator(".field-exchange_product .readonly")).to_contain_text("Aurora P60 256 GB")
    desk.get_by_role("button", name="Approve").click()
    expect(desk.get_by_text(f"Case {case.number} is now: Approved: awaiting your parcel.")).to_be_visible()

    # Customer: the phone goes back with a tracking number.
    shop.reload()
    status_heading(shop, case)
    shop.get_by_label("Carrier").fill("SF Express")
    shop.get_by_label("Tracking number").fill("SF1234567890")
    shop.get_by_role("button", name="I have shipped the parcel").click()
    expect(shop.get_by_text("Thank you: the tracking number was saved.")).to_be_visible()

    # Agent: received, inspection passed.
    desk.reload()
    desk.get_by_role("button", name="Parcel received").click()
    expect(desk.get_by_text(f"Case {case.number} is now: Parcel received.")).to_be_visible()
    desk.get_by_label("Passed", exact=True).check()
    desk.get_by_label("What was found").fill("Unused, complete, in its box.")
    desk.get_by_role("button", name="Record the inspection").click()
    expect(desk.get_by_text(f"Case {case.number} is now: Inspection passed.")).to_be_visible()
    case.refresh_from_db()
    assert case.status == "inspection_passed" and not Refund.objects.filter(case=case).exists()

    # R-RET-5: the replacement does not ship while the difference is unpaid.
    expect(
        desk.get_by_text("The customer owes a price difference of 300.00; the replacement ships once it is paid.")
    ).to_be_visible()
    desk.locator("#id_ship_carrier").fill("SF Express")
    desk.locator("#id_ship_tracking").fill("SF9876543210")
    desk.get_by_role("button", name="Replacement shipped").click()
    expect(desk.get_by_text("The customer has not paid the price difference (300.00) yet.")).to_be_visible()
    case.refresh_from_db()
    assert case.status == "inspection_passed"
    desk.screenshot(path=shots / "03-dashboard-difference-unpaid.png", full_page=True)

    # The customer paid at the storefront: the agent records it, then ships the replacement.
    desk.get_by_label("Payment reference (optional)").fill("WeChat Pay 4200001234")
    desk.get_by_role("button", name="Record the payment").click()
    expect(desk.get_by_text(f"Case {case.number} is now: Inspection passed.")).to_be_visible()
    expect(desk.get_by_role("button", name="Record the payment")).to_have_count(0)
    request.refresh_from_db()
    assert request.amount_due_paid_at is not None
    desk.locator("#id_ship_carrier").fill("SF Express")
    desk.locator("#id_ship_tracking").fill("SF9876543210")
    desk.get_by_role("button", name="Replacement shipped").click()
    expect(desk.get_by_text(f"Case {case.number} is now: Replacement shipped.")).to_be_visible()
    desk.screenshot(path=shots / "04-dashboard-shipped.png", full_page=True)

    # Customer: the difference is paid, the replacement is on its way; they confirm receipt.
    shop.reload()
    status_heading(shop, case)
    expect(shop.get_by_text("300.00 CNY · paid")).to_be_visible()
    expect(shop.get_by_text("SF Express · SF9876543210")).to_be_visible()
    expect(shop.get_by_text("Payment of the price difference (300.00) received. WeChat Pay 4200001234")).to_be_visible()
    shop.get_by_role("button", name="I received the replacement").click()
    expect(shop.get_by_role("heading", level=1)).to_contain_text("Completed")

    # The end: the database and the customer's page agree; no money went back to the customer.
    case.refresh_from_db()
    request.refresh_from_db()
    assert case.status == EXPECTED_FINAL_STATUS and case.closed_at is not None
    assert (request.amount_due, request.refund_estimate) == (Decimal("300.00"), Decimal("0.00"))
    assert (request.outbound_carrier, request.outbound_tracking_number) == ("SF Express", "SF9876543210")
    assert not Refund.objects.filter(case=case).exists()
    status_heading(shop, case)
    shop.screenshot(path=shots / "05-case-completed.png", full_page=True)

    # The other direction (R-RET-5, R-FIN-1): a cheaper variant refunds the difference once inspected.
    # 200.00 is under the auto-approval limit and nothing is due, so it is approved at once (R-RET-15).
    other_order = phone_order(customer, bought)
    other = services.submit_request(
        customer=customer,
        order=other_order,
        kind="exchange",
        reason="no_reason",
        lines=[{"line": other_order.lines.get(), "quantity": 1}],
        exchange_product=cheaper,
    )
    other_request = ReturnRequest.objects.get(case=other)
    assert other.status == "awaiting_parcel" and other_request.auto_approved
    assert (other_request.refund_estimate, other_request.amount_due) == (Decimal("200.00"), Decimal("0.00"))
    other = services.receive(case=other, actor=agent)
    other = services.inspect(case=other, actor=agent, passed=True, notes="Unused.")
    difference = Refund.objects.get(case=other)
    assert (difference.source, difference.amount, difference.order) == (
        Refund.Source.EXCHANGE_DIFFERENCE,
        Decimal("200.00"),
        other_order,
    )
    assert other.status == "inspection_passed"  # the cheaper replacement still has to ship
    shop.goto(reverse("portal:case-detail", args=[other.number]))
    expect(shop.get_by_text("Price difference refunded to you")).to_be_visible()
    expect(shop.locator(".refunds")).to_contain_text("200.00 CNY")
    shop.screenshot(path=shots / "06-cheaper-variant-refund.png", full_page=True)
    assert browser_problems == []
