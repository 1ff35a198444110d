"""The price-protection portal: the panel on the order page and the order's price-protection page
(each line's yield, window or refusal, promotions as information only), the one-click claim, the
claim once filed, and the history of the customer's claims (R-PP-1 … R-PP-7)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import formats, timezone

from aftersales.cases.models import Notification
from aftersales.orders.guarantees import window_end
from aftersales.orders.models import PriceKind
from aftersales.orders.services import set_milestones
from aftersales.orders.services.catalog import record_price_change
from priceprotect import services
from priceprotect.models import Claim, PriceProtectionSettings
from tests import factories
from tests.priceprotect.conftest import in_transit_order, price

pytestmark = pytest.mark.django_db

HISTORY = reverse("priceprotect:list")


def product_of(order):
    return order.lines.get().product


def pp_url(order) -> str:
    return reverse("priceprotect:order", args=[order.number])


def order_url(order) -> str:
    return reverse("portal:order-detail", args=[order.number])


def panel(page: str) -> str:
    start = page.index('<section class="card price-protection"')
    return page[start : page.index("</section>", start)]


def row(page: str, line) -> str:
    start = page.index(f'id="pp-line-{line.pk}"')
    return page[start : page.index("</tr>", start)]


def cell(html: str, css: str) -> str:
    """The text of the first `<td class="… css">` in `html`, tags and spacing collapsed."""
    match = re.search(rf'<td[^>]*class="[^"]*\b{css}\b[^"]*"[^>]*>(.*?)</td>', html, re.S)
    assert match, css
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def claim_button(page: str, order) -> bool:
    return f'<form method="post" action="{pp_url(order)}" class="actions pp-claim-form">' in page


def get(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def day(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


# --- The panel: what a claim would yield, until when, or why not ---------------------------------------------


def test_R_PP_1_R_PP_2_the_order_page_shows_paid_and_current_prices_and_what_a_claim_yields(client, customer):
    order = in_transit_order(customer, quantity=2)
    price(product_of(order), "1899.00")
    page = panel(get(client, customer, order_url(order)))
    line = row(page, order.lines.get())
    assert cell(line, "num") == "1,999.00"  # paid per unit
    assert "1,899.00" in line  # the regular price now
    assert cell(line, "pp-yield") == "200.00"  # (1999 − 1899) × 2
    assert cell(line, "pp-why") == "until the end of the day it is signed for (R-PP-2)"  # not signed for yet
    assert "a claim now would yield <strong>200.00 USD</strong>" in page.replace(order.currency, "USD")
    assert "It is credited to your account (Coupon)." in page  # R-PP-3: prepaid, the shop's default
    assert claim_button(page, order) and 'name="csrfmiddlewaretoken"' in page


def test_R_PP_2_a_signed_for_order_shows_when_its_window_closes(client, customer):
    signed = timezone.now() - timedelta(hours=1)
    order = in_transit_order(customer, signed_for_at=signed)
    price(product_of(order), "1899.00", ago=timedelta(minutes=30))
    line = row(get(client, customer, pp_url(order)), order.lines.get())
    assert cell(line, "pp-why") == f"until {day(window_end(signed, 0))} (R-PP-2)"


def test_R_PP_2_a_category_with_days_says_how_long_after_sign_for(client, customer):
    order = in_transit_order(customer)
    category = product_of(order).category
    category.price_protection_days = 7
    category.save()
    price(product_of(order), "1899.00")
    line = row(get(client, customer, pp_url(order)), order.lines.get())
    assert cell(line, "pp-why") == "until 7 days after it is signed for (R-PP-2)"


def test_R_PP_2_after_the_window_the_page_says_when_it_ended_and_offers_no_claim(client, customer):
    signed = timezone.now() - timedelta(days=2)
    order = in_transit_order(customer, signed_for_at=signed)
    price(product_of(order), "1799.00", ago=timedelta(minutes=5))
    page = panel(get(client, customer, pp_url(order)))
    assert '<p class="pp-refusal" role="status">Price protection ended on' in page
    assert "(R-PP-2)" in cell(row(page, order.lines.get()), "pp-why")
    assert cell(row(page, order.lines.get()), "pp-yield") == "—"
    assert not claim_button(page, order)


def test_R_PP_1_no_drop_no_claim(client, customer):
    order = in_transit_order(customer)
    page = panel(get(client, customer, order_url(order)))
    assert 'The regular price has not dropped below what you paid. <span class="rule">(R-PP-1)</span>' in page
    assert not claim_button(page, order)


def test_R_PP_4_a_flash_sale_is_shown_as_information_and_the_regular_price_is_the_basis(client, customer):
    order = in_transit_order(customer)
    product = product_of(order)
    price(product, "1899.00")
    price(product, "999.00", kind=PriceKind.FLASH_SALE, ends_in=timedelta(hours=2))
    line = row(get(client, customer, pp_url(order)), order.lines.get())
    assert "Flash sale 999.00: not a basis" in line and "(R-PP-4)" in line
    assert cell(line, "pp-yield") == "100.00"  # 1999 − 1899, never 1999 − 999


def test_R_PP_4_a_flash_sale_alone_is_refused_with_its_rule(client, customer):
    order = in_transit_order(customer)
    price(product_of(order), "999.00", kind=PriceKind.FLASH_SALE, ends_in=timedelta(hours=2))
    page = panel(get(client, customer, pp_url(order)))
    assert "Only the regular price counts; promotion prices and pricing errors never do." in page
    assert "(R-PP-4)" in page and not claim_button(page, order)


def test_R_PP_4_gifts_and_b2b_orders_say_why_not(client, customer):
    order = in_transit_order(customer)
    main = order.lines.get()
    gift = factories.add_gift(order, main=main, line_no=2, name="Free case")
    price(main.product, "1899.00")
    page = panel(get(client, customer, pp_url(order)))
    assert cell(row(page, gift), "pp-why") == "Gifts have no price protection. (R-PP-4)"
    assert cell(row(page, main), "pp-yield") == "100.00" and claim_button(page, order)

    b2b = in_transit_order(customer, is_b2b=True)
    price(product_of(b2b), "1899.00")
    page = panel(get(client, customer, pp_url(b2b)))
    assert 'Business (B2B) orders have no price protection. <span class="rule">(R-PP-4)</span>' in page
    assert cell(row(page, b2b.lines.get()), "pp-yield") == "—" and not claim_button(page, b2b)


def test_R_PP_3_an_order_still_in_the_warehouse_says_it_would_be_repriced(client, customer):
    order = in_transit_order(customer, payment_mode="cod", left_warehouse_at=None)
    price(product_of(order), "1799.00")
    page = panel(get(client, customer, pp_url(order)))
    assert "it is repriced: you pay less on delivery or pickup" in page and claim_button(page, order)


# --- The one-click claim ----------------------------------------------------------------------------------


def test_R_PP_1_R_PP_3_one_click_claims_and_the_page_then_shows_the_claim_and_its_coupon(client, customer):
    order = in_transit_order(customer, quantity=2)
    price(product_of(order), "1899.00")
    client.force_login(customer)
    response = client.post(pp_url(order))
    assert response.status_code == 302 and response["Location"] == pp_url(order)
    claim = Claim.objects.select_related("case", "coupon").get(order=order)
    assert (claim.amount, claim.case.status) == (Decimal("200.00"), "compensated")
    response = client.get(pp_url(order))
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [f"Your price-protection claim {claim.case.number} for 200.00 was filed: Compensated."]
    page = panel(response.content.decode())
    assert claim.case.number in page and '<span class="badge status-compensated">Compensated</span>' in page
    assert '<strong class="pp-amount">200.00 CNY</strong>' in page
    expires = formats.date_format(timezone.localtime(claim.coupon.expires_at), "SHORT_DATE_FORMAT")
    assert f"Coupon {claim.coupon.code}, valid until {expires}." in page
    assert cell(row(page, order.lines.get()), "pp-yield") == "200.00"
    assert cell(row(page, order.lines.get()), "pp-why") == "Claimed"
    assert not claim_button(page, order)
    # The order page's panel says the same.
    assert claim.coupon.code in panel(get(client, customer, order_url(order)))


def test_R_PP_3_a_repriced_claim_says_so(client, customer):
    order = in_transit_order(customer, payment_mode="cod", left_warehouse_at=None)
    price(product_of(order), "1799.00")
    client.force_login(customer)
    # The storefront is told after commit; the test transaction never commits, so it is not called here.
    assert client.post(pp_url(order)).status_code == 302
    page = panel(get(client, customer, pp_url(order)))
    assert "Order repriced: you pay 200.00 less." in page


def test_R_PP_5_a_second_claim_is_refused_with_its_rule_on_the_page(client, customer):
    order = in_transit_order(customer)
    product = product_of(order)
    price(product, "1899.00", ago=timedelta(hours=2))
    client.force_login(customer)
    client.post(pp_url(order))
    price(product, "1699.00")  # it dropped again: still one claim per order
    response = client.post(pp_url(order))  # e.g. a stale page's button
    assert response.status_code == 400
    page = response.content.decode()
    assert (
        '<p class="error-summary-title"><strong>This order already has a price-protection claim; '
        'each order has one.</strong> <span class="rule">(R-PP-5)</span></p>'
    ) in page
    assert Claim.objects.filter(order=order).count() == 1
    assert not claim_button(page, order)


def test_R_PP_2_a_refused_claim_shows_the_rule_and_files_nothing(client, customer):
    order = in_transit_order(customer, signed_for_at=timezone.now() - timedelta(days=2))
    price(product_of(order), "1799.00", ago=timedelta(minutes=5))
    client.force_login(customer)
    response = client.post(pp_url(order))
    assert (
        response.status_code == 400 and '</strong> <span class="rule">(R-PP-2)</span></p>' in response.content.decode()
    )
    assert not Claim.objects.exists()


def test_R_PP_7_a_claim_waiting_for_an_agent_says_so(client, customer):
    order = in_transit_order(customer, unit_price=Decimal("299.00"))
    price(product_of(order), "139.00")  # −53.5 %: above the default 50 %
    client.force_login(customer)
    client.post(pp_url(order))
    page = panel(get(client, customer, pp_url(order)))
    assert '<span class="badge status-submitted">Waiting for review</span>' in page
    assert "an agent checks the claim before it is paid" in page and "(R-PP-7)" in page
    assert "To be paid as Coupon once the claim is approved." in page


def test_R_PP_6_taken_back_compensation_is_listed(client, customer):
    order = in_transit_order(customer, payment_mode="cod")
    price(product_of(order), "1799.00")
    case = services.file_claim(order=order, actor=customer)
    set_milestones(order=order, cancelled_at=timezone.now())  # refused on delivery
    page = panel(get(client, customer, pp_url(order)))
    assert '<span class="badge status-revoked">Revoked</span>' in page and case.number in page
    revocations = page[page.index('<ul class="pp-revocations">') :]
    assert "Order refused or cancelled: <strong>−200.00</strong>" in revocations
    assert "recovered by cancelling the coupon 200.00." in revocations and "(R-PP-6)" in revocations
    assert "200.00 taken back" in page
    assert cell(row(page, order.lines.get()), "pp-why") == "Claimed; 1 unit taken back"


# --- Who sees what -------------------------------------------------------------------------------------


def test_another_customers_order_is_a_404_and_nothing_is_claimed(client, customer, other_customer):
    order = in_transit_order(customer)
    price(product_of(order), "1899.00")
    client.force_login(other_customer)
    assert client.get(pp_url(order)).status_code == 404
    assert client.post(pp_url(order)).status_code == 404
    assert client.get(reverse("priceprotect:order", args=["SO-NO-SUCH"])).status_code == 404
    assert not Claim.objects.exists()


def test_the_pages_need_a_login(client, customer):
    order = in_transit_order(customer)
    for url in (pp_url(order), HISTORY):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_staff_see_the_panel_but_cannot_claim_for_the_customer(client, customer, agent):
    order = in_transit_order(customer)
    price(product_of(order), "1899.00")
    page = panel(get(client, agent, order_url(order)))
    assert cell(row(page, order.lines.get()), "pp-yield") == "100.00" and not claim_button(page, order)
    response = client.post(pp_url(order))
    assert response.status_code == 403 and "You are not allowed to do this." in response.content.decode()
    assert not Claim.objects.exists()


def test_the_price_drop_notification_opens_the_claim_page(client, customer, django_capture_on_commit_callbacks):
    order = in_transit_order(customer)
    PriceProtectionSettings.current()
    with django_capture_on_commit_callbacks(execute=True):
        record_price_change(
            product=product_of(order),
            price=Decimal("1899.00"),
            kind=PriceKind.REGULAR,
            effective_at=timezone.now() - timedelta(seconds=1),
        )
    body = Notification.objects.get(user=customer).body
    path = re.search(r"https?://[^/\s]+(/\S+)", body).group(1)
    assert path == pp_url(order)
    page = get(client, customer, path)
    assert claim_button(panel(page), order) and cell(row(page, order.lines.get()), "pp-yield") == "100.00"


# --- The history --------------------------------------------------------------------------------------------


def test_the_history_lists_only_the_customers_own_claims_and_the_nav_leads_there(client, customer, other_customer):
    mine = in_transit_order(customer)
    price(product_of(mine), "1899.00")
    case = services.file_claim(order=mine, actor=customer)
    theirs = in_transit_order(other_customer)
    price(product_of(theirs), "1899.00")
    their_case = services.file_claim(order=theirs, actor=other_customer)
    page = get(client, customer, HISTORY)
    assert f'href="{HISTORY}" aria-current="page"' in page
    table = page[page.index('<table class="list pp-claims">') :]
    assert case.number in table and pp_url(mine) in table and "100.00" in table
    coupon = Claim.objects.get(case=case).coupon
    assert f"Coupon {coupon.code}" in table
    assert their_case.number not in page and theirs.number not in page


def test_an_empty_history_says_so(client, customer):
    assert "You have no price-protection claims yet." in get(client, customer, HISTORY)
