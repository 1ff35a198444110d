"""R-PP-1, R-PP-2, R-PP-3, R-PP-5 and R-PP-7 in a real browser. The shop cuts a product's regular price
through the storefront API (as its back office would); the price-drop sweep tells the customers whose
orders are still in their window (R-PP-2). The customer sees what a claim yields on the order's page
and claims in one click:

- a 5 % cut passes every rule and is approved at once (R-PP-7); (paid unit price − new regular price)
  × units (R-PP-1) is credited as a coupon (R-PP-3), paid at once by the ledger (R-FIN-2), and the
  order offers no second claim (R-PP-5);
- a 55 % cut looks like a pricing error, so the claim waits for an agent (R-PP-7), who approves it in
  the dashboard; the compensation is above finance's auto-approval limit for internal refunds, so it is
  queued for finance (R-FIN-1, R-FIN-3)."""

import re
from decimal import Decimal

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from aftersales.cases.models import Case, Notification
from aftersales.finance.models import Coupon, Refund
from aftersales.orders.models import PriceChange, PriceKind
from aftersales.orders.services import create_storefront
from priceprotect.models import Claim, PriceDropOffer
from tests import factories
from tests.priceprotect.conftest import in_transit_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TOKEN = "e2e-storefront-token-0123456789abcdef"


def shop_cuts_the_price(live_server, product, price: str, note: str) -> PriceChange:
    """The storefront's back office records a new regular price, in effect now (R-ORD-3)."""
    create_storefront(name="Demo storefront", token=TOKEN)
    response = httpx.post(
        f"{live_server.url}/api/v1/storefront/products/{product.sku}/price-changes",
        json={"price": price, "kind": "regular", "effective_at": timezone.now().isoformat(), "note": note},
        headers={"Authorization": f"Storefront {TOKEN}"},
        timeout=15,
    )
    assert response.status_code == 201, response.text
    assert response.json()["price"] == price
    product.refresh_from_db()
    assert product.price == Decimal(price)
    return PriceChange.objects.get(product=product, kind=PriceKind.REGULAR, price=Decimal(price))


def named_product(order, name: str):
    line = order.lines.get()
    line.product.name = line.product_name = name
    line.product.save(update_fields=["name"])
    line.save(update_fields=["product_name"])
    return line.product


def test_a_price_cut_is_claimed_in_one_click_and_credited_as_a_coupon(
    live_server, log_in, browser_problems, screenshots, settings
):
    shots = screenshots / "priceprotect"
    shots.mkdir(exist_ok=True)
    settings.PORTAL_URL = live_server.url  # where the notification's claim link points
    customer = factories.CustomerFactory()
    # Prepaid two days ago, left the warehouse yesterday, not signed for yet: inside the window (R-PP-2).
    order = in_transit_order(customer, unit_price=Decimal("1999.00"), quantity=2)
    line = order.lines.get()
    product = named_product(order, "Nimbus X2 robot vacuum")

    # The shop cuts the price by 100.00; the sweep offers this order 2 × 100.00 (R-PP-1).
    entry = shop_cuts_the_price(live_server, product, "1899.00", "Autumn price cut")
    offer = PriceDropOffer.objects.get(order=order)
    assert (offer.price_change, offer.amount) == (entry, Decimal("200.00"))
    title = f"Price drop on order {order.number}: claim 200.00"
    assert Notification.objects.filter(user=customer, title=title).count() == 1

    # Customer: the notification and its one-click link to the order's price protection.
    pp_url = reverse("priceprotect:order", args=[order.number])
    shop = log_in(customer, reverse("portal:notification-list"))
    expect(shop.get_by_text(title)).to_be_visible()
    expect(shop.get_by_text("Nimbus X2 robot vacuum now costs 1899.00.")).to_be_visible()
    shop.screenshot(path=shots / "01-notification.png", full_page=True)
    shop.get_by_role("link", name=live_server.url + pp_url).click()
    expect(shop).to_have_url(live_server.url + pp_url)
    panel = shop.locator("#price-protection")
    expect(panel.locator(".pp-offer")).to_contain_text("a claim now would yield 200.00 CNY")
    expect(panel.locator(".pp-offer")).to_contain_text("It is credited to your account (Coupon).")
    row = panel.locator(f"#pp-line-{line.pk}")
    expect(row.locator("td").nth(1)).to_have_text("1,999.00")  # paid per unit
    expect(row.locator("td").nth(2)).to_have_text("1,899.00")  # the regular price now
    expect(row.locator(".pp-yield")).to_have_text("200.00")
    expect(row.locator(".pp-why")).to_have_text("until the end of the day it is signed for (R-PP-2)")
    shop.screenshot(path=shots / "02-offer.png", full_page=True)

    # One click; 5 % passes every rule, so it is approved and credited at once (R-PP-7, R-PP-3).
    shop.get_by_role("button", name="Claim 200.00 CNY now").click()
    filed = shop.get_by_text(re.compile(r"^Your price-protection claim PP-\S+ for 200\.00 was filed: Compensated\.$"))
    expect(filed).to_be_visible()  # the claim posts back to the same page: wait for its answer
    expect(shop).to_have_url(live_server.url + pp_url)
    case = Case.objects.get(kind="price_protection", order=order)
    expect(filed).to_have_text(f"Your price-protection claim {case.number} for 200.00 was filed: Compensated.")

    claim = Claim.objects.select_related("refund", "coupon").get(case=case)
    assert case.status == "compensated" and claim.compensated_at is not None
    assert (claim.mode, claim.destination, claim.amount) == ("credit", "coupon", Decimal("200.00"))
    assert not claim.suspected_pricing_error and claim.largest_drop_percent == Decimal("5.00")
    claim_line = claim.lines.get()
    assert (claim_line.order_line, claim_line.units, claim_line.basis) == (line, 2, entry)
    assert (claim_line.paid_unit_price, claim_line.basis_price, claim_line.amount) == (
        Decimal("1999.00"),
        Decimal("1899.00"),
        Decimal("200.00"),
    )
    refund = claim.refund
    assert (refund.source, refund.destination, refund.amount, refund.state) == (
        Refund.Source.PRICE_PROTECTION,
        Refund.Destination.COUPON,
        Decimal("200.00"),
        Refund.State.SUCCEEDED,
    )
    coupon = Coupon.objects.get(customer=customer)
    assert claim.coupon == coupon and coupon.refund == refund and coupon.amount == Decimal("200.00")

    panel = shop.locator("#price-protection")
    expect(panel.locator(".badge")).to_have_text("Compensated")
    expect(panel.locator(".pp-amount")).to_have_text("200.00 CNY")
    expect(panel.locator(".pp-paid-as")).to_contain_text(f"Coupon {coupon.code}, valid until")
    expect(shop.get_by_role("button", name=re.compile("^Claim "))).to_have_count(0)  # one claim per order (R-PP-5)
    shop.screenshot(path=shots / "03-claimed.png", full_page=True)

    # The coupon is in the customer's account; the case page shows the paid refund.
    shop.get_by_role("link", name="My account").click()
    coupon_row = shop.get_by_role("row").filter(has_text=coupon.code)
    expect(coupon_row).to_contain_text("200.00 CNY")
    expect(coupon_row).to_contain_text("Valid")
    shop.screenshot(path=shots / "04-account-coupon.png", full_page=True)
    shop.goto(reverse("portal:case-detail", args=[case.number]))
    expect(shop.get_by_role("heading", level=1)).to_have_text(f"{case.number} Compensated")
    refund_cells = shop.locator(".refunds tbody tr").locator("td")
    expect(refund_cells).to_have_text(["200.00 CNY", "Coupon", "Paid", re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$")])
    shop.screenshot(path=shots / "05-case-compensated.png", full_page=True)
    assert browser_problems == []


def test_a_steep_price_cut_is_approved_by_an_agent_and_queued_for_finance(
    live_server, log_in, browser_problems, screenshots
):
    shots = screenshots / "priceprotect"
    shots.mkdir(exist_ok=True)
    customer = factories.CustomerFactory()
    agent = factories.StaffFactory(role="agent")
    order = in_transit_order(customer, unit_price=Decimal("1999.00"))
    product = named_product(order, "Nimbus X2 robot vacuum")

    # 1999.00 → 899.00 is a 55.03 % drop: more than the review limit (50 %, R-PP-7).
    entry = shop_cuts_the_price(live_server, product, "899.00", "Clearance")
    assert PriceDropOffer.objects.get(order=order).amount == Decimal("1100.00")

    # Customer: My orders → the order's page, whose price-protection panel offers the claim.
    shop = log_in(customer, reverse("portal:order-list"))
    shop.get_by_role("link", name=order.number).click()
    expect(shop.locator("#price-protection .pp-offer")).to_contain_text("a claim now would yield 1,100.00 CNY")
    shop.get_by_role("button", name="Claim 1,100.00 CNY now").click()
    expect(shop).to_have_url(re.compile(re.escape(reverse("priceprotect:order", args=[order.number])) + "$"))
    case = Case.objects.get(kind="price_protection", order=order)
    expect(
        shop.get_by_text(f"Your price-protection claim {case.number} for 1100.00 was filed: Waiting for review.")
    ).to_be_visible()
    expect(shop.locator("#price-protection")).to_contain_text("an agent checks the claim before it is paid")
    shop.screenshot(path=shots / "06-claim-waiting.png", full_page=True)
    claim = Claim.objects.get(case=case)
    assert case.status == "submitted" and claim.suspected_pricing_error
    assert (claim.amount, claim.largest_drop_percent) == (Decimal("1100.00"), Decimal("55.03"))
    assert claim.refund_id is None and not Refund.objects.filter(order=order).exists()

    # Agent: the claims queue, the claim with the warning and the price history; approve.
    desk = log_in(agent, reverse("admin:priceprotect_claim_changelist"))
    desk.get_by_role("link", name=case.number, exact=True).click()
    expect(desk.locator("#claim-suspected")).to_contain_text("A price dropped by 55.03%, more than the review limit")
    basis_row = desk.locator("#claim-price-history tr.price-basis")
    expect(basis_row).to_contain_text("899.00")
    expect(basis_row).to_contain_text("Clearance")
    expect(desk.get_by_text("Approve: pay the compensation of 1100.00")).to_be_visible()
    desk.get_by_label("Note for the customer (optional)").fill("Checked: a real clearance price, not an error.")
    desk.screenshot(path=shots / "07-dashboard-review.png", full_page=True)
    desk.get_by_role("button", name="Approve").click()
    expect(desk.get_by_text(f"Case {case.number} is now: Approved.")).to_be_visible()

    # The compensation is queued: 1100.00 to a coupon is above the 200.00 finance approves itself.
    case.refresh_from_db()
    claim.refresh_from_db()
    assert case.status == "approved" and claim.decided_by == agent and claim.decided_at is not None
    refund = Refund.objects.get(order=order)
    assert claim.refund == refund and claim.lines.get().basis == entry
    assert (refund.case, refund.source, refund.destination, refund.amount, refund.state) == (
        case,
        Refund.Source.PRICE_PROTECTION,
        Refund.Destination.COUPON,
        Decimal("1100.00"),
        Refund.State.PENDING_APPROVAL,
    )
    assert refund.requested_by == agent and not Coupon.objects.filter(customer=customer).exists()

    # Customer: approved, to be paid as a coupon once finance approves.
    shop.reload()
    panel = shop.locator("#price-protection")
    expect(panel.locator(".badge")).to_have_text("Approved")
    expect(panel.locator(".pp-amount")).to_have_text("1,100.00 CNY")
    expect(panel.locator(".pp-paid-as")).to_have_text("To be paid as Coupon (Pending approval).")
    shop.get_by_role("link", name=case.number).click()
    expect(shop.get_by_role("heading", level=1)).to_have_text(f"{case.number} Approved")
    expect(shop.get_by_text("Your compensation of 1100.00 is approved and on its way.")).to_be_visible()
    refund_cells = shop.locator(".refunds tbody tr").locator("td")
    expect(refund_cells).to_have_text(["1,100.00 CNY", "Coupon", "Pending approval", "–"])  # not paid yet
    shop.screenshot(path=shots / "08-case-approved.png", full_page=True)
    assert browser_problems == []
