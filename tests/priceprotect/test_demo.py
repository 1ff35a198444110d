"""The demo shop's price protection is made through the services: recent price cuts recorded in the
history, whole claims at every stage, and an order the demo customer can claim right now."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from aftersales.cases.models import Case, Notification
from aftersales.finance.models import Coupon
from aftersales.orders.models import Order, PriceChange, PriceKind, Product
from priceprotect import selectors
from priceprotect.models import Claim, PriceDropOffer

pytestmark = pytest.mark.django_db

DEMO_CUSTOMER = "customer@demo.local"
SH = ZoneInfo("Asia/Shanghai")


def test_seeded_claims_are_whole_and_at_every_stage():
    call_command("seed_demo", stdout=None)
    cases = Case.objects.filter(kind="price_protection")
    assert cases.exists() and not cases.filter(price_claim__isnull=True).exists()
    statuses = set(cases.values_list("status", flat=True))
    assert {"submitted", "approved", "compensated", "rejected", "revoked"} <= statuses
    claims = Claim.objects.select_related("case")
    assert all(claim.lines.exists() for claim in claims)
    waiting = claims.get(case__status="submitted")
    assert waiting.suspected_pricing_error and waiting.largest_drop_percent > 50  # R-PP-7
    assert claims.get(case__status="rejected").decided_by.email == "agent@demo.local"
    paid = claims.filter(case__status="compensated", destination="coupon").exclude(coupon=None)
    assert paid.count() >= 2 and all(claim.refund.state == "succeeded" for claim in paid)
    assert claims.get(case__status="approved").refund.state == "pending_approval"  # finance's queue
    revoked = claims.get(case__status="revoked")  # R-PP-6: the goods came back
    revocation = revoked.revocations.get()
    assert revocation.cause == "return" and revocation.return_case.kind == "return"
    assert revocation.by_cancelling_coupon == revoked.amount == revoked.revoked_amount
    assert Coupon.objects.get(pk=revoked.coupon_id).state == Coupon.State.CANCELLED
    repriced = claims.get(mode="reprice")  # R-PP-3: cash on delivery, still in the warehouse
    assert repriced.case.status == "compensated" and repriced.refund is None and repriced.destination == ""
    order = repriced.order
    assert (order.payment_mode, order.left_warehouse_at, order.discount_total) == ("cod", None, repriced.amount)
    assert order.paid_total == order.goods_total - repriced.amount


def test_the_cuts_are_in_the_history_with_a_flash_sale_and_a_pricing_error():
    call_command("seed_demo", stdout=None)
    for claim in Claim.objects.prefetch_related("lines__basis__product"):
        for line in claim.lines.all():
            assert line.basis.kind == PriceKind.REGULAR and line.basis.price == line.basis_price
    xiaomi = Product.objects.get(sku="XM-15-256")
    latest = xiaomi.price_changes.filter(kind=PriceKind.REGULAR).order_by("-effective_at").first()
    assert xiaomi.price == latest.price == Decimal("4299.00")  # recorded through the catalog service
    assert xiaomi.price_changes.filter(kind=PriceKind.FLASH_SALE, note__contains="Flash sale").exists()
    assert PriceChange.objects.filter(kind=PriceKind.PRICING_ERROR, product__sku="APL-MBA13-M3").exists()
    rejected = Claim.objects.get(case__status="rejected").lines.get()
    corrected = rejected.order_line.product
    assert rejected.basis_price < corrected.price == Decimal("2999.00")  # the typing error was set right


@pytest.mark.parametrize("hour, minute", [(23, 55), (0, 5)])
def test_R_PP_2_whatever_the_hour_the_demo_customer_can_claim_now_and_every_stage_is_seeded(hour, minute):
    """Seeded just before or just after midnight in the shop's time zone (windows close at the end
    of a local day), the demo still has its claimable order and a claim at every stage."""
    with time_machine.travel(datetime(2026, 3, 2, hour, minute, tzinfo=SH), tick=True):
        call_command("seed_demo", stdout=None)
        claimable = [
            o for o in Order.objects.filter(customer__email=DEMO_CUSTOMER) if not selectors.verdict(o)[0].refusal
        ]
        statuses = set(Case.objects.filter(kind="price_protection").values_list("status", flat=True))
    assert len(claimable) == 1
    assert statuses == {"submitted", "approved", "compensated", "rejected", "revoked"}


def test_the_demo_customer_has_a_compensated_claim_and_an_order_to_claim_now():
    call_command("seed_demo", stdout=None)
    mine = Claim.objects.get(case__customer__email=DEMO_CUSTOMER)
    assert mine.case.status == "compensated" and mine.coupon.amount == mine.amount == Decimal("1000.00")
    claimable = []
    for order in Order.objects.filter(customer__email=DEMO_CUSTOMER):
        verdict, _entries = selectors.verdict(order)
        if verdict.refusal is None:
            claimable.append((order, verdict))
    assert len(claimable) == 1
    order, verdict = claimable[0]
    assert verdict.amount == Decimal("200.00") and verdict.mode == "credit"  # COD that left: credited (R-PP-3)
    assert order.payment_mode == "cod" and order.signed_for_at is None
    assert [line.refusal.rule for line in verdict.lines if line.refusal] == ["R-PP-4"]  # its gift
    # The price-drop sweep told them, with the one-click claim link.
    offer = PriceDropOffer.objects.get(order=order)
    assert offer.amount == Decimal("200.00") and offer.price_change.product.sku == "XM-15-256"
    told = Notification.objects.get(user__email=DEMO_CUSTOMER, title__contains=order.number)
    assert f"/price-protection/{order.number}/" in told.body


def test_seeding_again_adds_nothing():
    call_command("seed_demo", stdout=None)

    def counts():
        return [m.objects.count() for m in (Claim, PriceChange, Order, Coupon, PriceDropOffer, Notification)]

    before = counts()
    call_command("seed_demo", "--force", stdout=None)
    assert counts() == before
