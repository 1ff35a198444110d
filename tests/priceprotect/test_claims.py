"""Price-protection claims through priceprotect.services: filing, paying by payment mode, an agent's
review, revocation when goods come back, and one claim per order under concurrency."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from aftersales.cases.models import CaseKind
from aftersales.common.errors import NotAllowed, PolicyRefused
from aftersales.finance import ledger
from aftersales.finance.models import Coupon, Refund
from aftersales.finance.services import approve_refund, refunded_or_pending
from aftersales.orders.models import Order, PriceKind, Storefront, WebhookDelivery
from aftersales.orders.services import set_milestones
from aftersales.orders.services.storefronts import create_storefront
from priceprotect import services
from priceprotect.models import Claim, ClaimLine, PriceProtectionSettings, Revocation
from returns import services as returns
from tests import factories
from tests.cases.test_concurrency import run_together
from tests.priceprotect.conftest import in_transit_order, price
from tests.returns.test_submit import submit

pytestmark = pytest.mark.django_db


def product_of(order):
    return order.lines.get().product


def claim(order):
    return services.file_claim(order=order, actor=order.customer)


# --- Filing and paying ------------------------------------------------------------------------------------


def test_R_PP_1_R_PP_3_a_prepaid_claim_is_approved_at_once_and_credited_as_a_coupon(customer):
    order = in_transit_order(customer, quantity=2)
    entry = price(product_of(order), "1899.00")
    case = claim(order)
    assert (case.kind, case.status) == (CaseKind.PRICE_PROTECTION, "compensated")
    row = Claim.objects.get(case=case)
    assert (row.mode, row.destination, row.amount) == ("credit", "coupon", Decimal("200.00"))
    line = ClaimLine.objects.get(claim=row)
    assert (line.units, line.paid_unit_price, line.basis_price, line.basis) == (
        2,
        Decimal("1999.00"),
        Decimal("1899.00"),
        entry,
    )
    refund = Refund.objects.get(case=case)
    assert (refund.source, refund.amount, refund.state) == ("price_protection", Decimal("200.00"), "succeeded")
    coupon = Coupon.objects.get(refund=refund)
    assert row.coupon == coupon and coupon.customer == customer and coupon.amount == Decimal("200.00")
    assert coupon.code in case.events.last().note


def test_R_PP_3_balance_when_the_shop_says_so(customer):
    PriceProtectionSettings.objects.update_or_create(pk=1, defaults={"destination": "balance"})
    order = in_transit_order(customer)
    price(product_of(order), "1899.00")
    assert claim(order).status == "compensated"
    assert ledger.balance_of(customer) == Decimal("100.00")


def test_R_PP_3_cod_still_in_the_warehouse_is_repriced_not_credited(customer):
    order = in_transit_order(customer, payment_mode="cod", left_warehouse_at=None)
    price(product_of(order), "1799.00")
    case = claim(order)
    assert case.status == "compensated" and not Refund.objects.filter(case=case).exists()
    order.refresh_from_db()
    line = order.lines.get()
    assert (order.paid_total, order.discount_total) == (Decimal("1799.00"), Decimal("200.00"))
    assert (line.discount, line.paid_amount) == (Decimal("200.00"), Decimal("1799.00"))
    assert Claim.objects.get(case=case).mode == "reprice"


def test_R_PP_3_the_storefront_is_told_of_the_repricing_in_the_same_transaction(customer):
    storefront, _token = create_storefront(name="Main shop")
    Storefront.objects.filter(pk=storefront.pk).update(webhook_url="https://shop.example/hooks")
    order = in_transit_order(customer, payment_mode="cod", left_warehouse_at=None, storefront=storefront)
    price(product_of(order), "1799.00")
    case = claim(order)
    delivery = WebhookDelivery.objects.get(storefront=storefront)
    assert delivery.event == "order.repriced" and delivery.state == "pending"
    assert delivery.payload["order"] == order.number and delivery.payload["claim"] == case.number
    assert delivery.payload["paid_total"] == "1799.00"
    assert delivery.payload["lines"] == [
        {
            "line_no": 1,
            "sku": product_of(order).sku,
            "discount": "200.00",
            "paid_amount": "1799.00",
            "price_protection": "200.00",
        }
    ]


def test_R_PP_3_cod_after_leaving_the_warehouse_is_credited_like_prepaid(customer):
    order = in_transit_order(customer, payment_mode="cod")
    price(product_of(order), "1799.00")
    case = claim(order)
    assert Claim.objects.get(case=case).mode == "credit"
    assert Coupon.objects.filter(customer=customer, amount=Decimal("200.00")).exists()
    assert Order.objects.get(pk=order.pk).paid_total == Decimal("1999.00")  # paid in full on delivery


def test_R_PP_4_a_flash_sale_price_is_ignored_and_the_regular_price_is_the_basis(customer):
    order = in_transit_order(customer)
    product = product_of(order)
    price(product, "1899.00")
    price(product, "999.00", kind=PriceKind.FLASH_SALE, ends_in=timedelta(hours=2))
    case = claim(order)
    assert Claim.objects.get(case=case).amount == Decimal("100.00")


def test_R_PP_4_a_pricing_error_is_never_a_basis(customer):
    order = in_transit_order(customer)
    price(product_of(order), "19.99", kind=PriceKind.PRICING_ERROR)
    with pytest.raises(PolicyRefused) as refused:
        claim(order)
    assert refused.value.rule == "R-PP-4"
    assert not Claim.objects.exists()


def test_R_PP_2_a_claim_after_the_sign_for_day_is_refused(customer):
    order = in_transit_order(customer, signed_for_at=timezone.now() - timedelta(days=2))
    price(product_of(order), "1799.00", ago=timedelta(minutes=5))
    with pytest.raises(PolicyRefused) as refused:
        claim(order)
    assert refused.value.rule == "R-PP-2"


def test_R_PP_4_b2b_orders_are_refused(customer):
    order = in_transit_order(customer, is_b2b=True)
    price(product_of(order), "1799.00")
    with pytest.raises(PolicyRefused) as refused:
        claim(order)
    assert refused.value.rule == "R-PP-4"


def test_R_PP_5_the_second_claim_on_an_order_is_refused(customer):
    order = in_transit_order(customer)
    product = product_of(order)
    price(product, "1899.00", ago=timedelta(hours=2))
    claim(order)
    price(product, "1699.00")  # it dropped again: still one claim per order
    with pytest.raises(PolicyRefused) as refused:
        claim(order)
    assert refused.value.rule == "R-PP-5"
    assert Claim.objects.filter(order=order).count() == 1


def test_R_PP_5_the_database_refuses_a_second_claim_row_too(customer):
    order = in_transit_order(customer)
    price(product_of(order), "1899.00")
    first = Claim.objects.get(case=claim(order))
    other_case = factories.open_case(customer=customer, kind=CaseKind.PRICE_PROTECTION, order=order)
    with pytest.raises(IntegrityError), transaction.atomic():
        Claim.objects.create(
            case=other_case, order=order, mode="credit", destination="coupon", amount=1, largest_drop_percent=1
        )
    assert Claim.objects.get(order=order) == first


def test_nobody_claims_for_another_customers_order(customer, other_customer):
    order = in_transit_order(customer)
    price(product_of(order), "1899.00")
    with pytest.raises(NotAllowed):
        services.file_claim(order=order, actor=other_customer)
    assert not Claim.objects.exists()


# --- R-PP-7: suspected pricing errors -----------------------------------------------------------------------


def test_R_PP_7_a_steep_drop_waits_for_an_agent_who_approves_it(customer, agent):
    order = in_transit_order(customer, unit_price=Decimal("299.00"))
    price(product_of(order), "139.00")  # −53.5 %: above the default 50 %
    case = claim(order)
    row = Claim.objects.get(case=case)
    assert case.status == "submitted" and row.suspected_pricing_error
    assert not Refund.objects.filter(case=case).exists()
    case = services.approve(case=case, actor=agent)
    assert case.status == "compensated"
    row.refresh_from_db()
    assert row.decided_by == agent and Coupon.objects.get(refund=row.refund).amount == Decimal("160.00")


def test_R_PP_7_an_agent_rejects_a_pricing_error_with_a_reason(customer, agent):
    order = in_transit_order(customer)
    price(product_of(order), "899.00")
    case = claim(order)
    case = services.reject(case=case, actor=agent, reason_text="The 899 price was a typo, fixed within minutes.")
    assert case.status == "rejected" and "typo" in case.events.last().note
    with pytest.raises(NotAllowed):
        services.approve(case=case, actor=customer)


def test_R_PP_7_a_large_coupon_waits_for_finance_then_compensates(customer, finance):
    order = in_transit_order(customer, unit_price=Decimal("9999.00"))
    price(product_of(order), "9000.00")  # 999 > the 200 that internal refunds are auto-approved up to
    case = claim(order)
    assert case.status == "approved"
    approve_refund(refund=Refund.objects.get(case=case), actor=finance)
    case.refresh_from_db()
    assert case.status == "compensated"
    assert Claim.objects.get(case=case).coupon.amount == Decimal("999.00")


# --- R-PP-6: revocation ---------------------------------------------------------------------------------


def signed_now(order):
    set_milestones(order=order, signed_for_at=timezone.now())
    order.refresh_from_db()
    return order


def returned_and_inspected(order, agent, quantity=1):
    case = submit(order, quantity=quantity)
    case = returns.receive(case=returns.approve(case=case, actor=agent), actor=agent)
    return returns.inspect(case=case, actor=agent, passed=True, notes="As new")


def test_R_PP_6_an_unused_coupon_is_cancelled_and_the_return_refunds_in_full(customer, agent):
    order = in_transit_order(customer)
    price(product_of(order), "1799.00")
    pp_case = claim(order)
    coupon = Claim.objects.get(case=pp_case).coupon
    return_case = returned_and_inspected(signed_now(order), agent)
    refund = Refund.objects.get(case=return_case)
    assert refund.amount == Decimal("1999.00")  # nothing deducted: the coupon was recovered
    coupon.refresh_from_db()
    assert coupon.state == "cancelled"
    pp_case.refresh_from_db()
    assert pp_case.status == "revoked"
    revocation = Revocation.objects.get(return_case=return_case)
    assert (revocation.amount, revocation.by_cancelling_coupon) == (Decimal("200.00"), Decimal("200.00"))
    # The compensation no longer counts against the order's paid total (R-RET-13 still holds).
    assert refunded_or_pending(order) == Decimal("1999.00")


def test_R_PP_6_a_used_coupon_is_deducted_from_the_return_refund(customer, agent):
    order = in_transit_order(customer)
    price(product_of(order), "1799.00")
    coupon = Claim.objects.get(case=claim(order)).coupon
    ledger.use_coupon(code=coupon.code, customer=customer)
    return_case = returned_and_inspected(signed_now(order), agent)
    assert Refund.objects.get(case=return_case).amount == Decimal("1799.00")
    assert returns.refund_due(return_case.return_request) == Decimal("1799.00")
    revocation = Revocation.objects.get(return_case=return_case)
    assert revocation.deducted_from_refund == Decimal("200.00")
    assert "deducted" in return_case.order.cases.get(kind=CaseKind.PRICE_PROTECTION).events.last().note


def test_R_PP_6_returning_part_of_a_line_cancels_the_coupon_and_reissues_the_rest(customer, agent):
    order = in_transit_order(customer, quantity=2)
    price(product_of(order), "1899.00")
    pp_case = claim(order)
    first = Claim.objects.get(case=pp_case).coupon
    returned_and_inspected(signed_now(order), agent, quantity=1)
    row = Claim.objects.get(case=pp_case)
    first.refresh_from_db()
    assert first.state == "cancelled"
    assert row.coupon != first and (row.coupon.amount, row.coupon.state) == (Decimal("100.00"), "issued")
    assert row.revoked_amount == Decimal("100.00")
    pp_case.refresh_from_db()
    assert pp_case.status == "compensated"  # half of it stays


def test_R_PP_6_revocation_is_idempotent(customer, agent):
    order = in_transit_order(customer)
    price(product_of(order), "1799.00")
    coupon = Claim.objects.get(case=claim(order)).coupon
    ledger.use_coupon(code=coupon.code, customer=customer)
    return_case = returned_and_inspected(signed_now(order), agent)
    again = services.revoke_for_return(case=return_case)
    assert again == Decimal("200.00")
    assert Revocation.objects.count() == 1 and Claim.objects.get().revoked_amount == Decimal("200.00")


def test_R_PP_6_a_refused_order_takes_the_compensation_back(customer):
    PriceProtectionSettings.objects.update_or_create(pk=1, defaults={"destination": "balance"})
    order = in_transit_order(customer, payment_mode="cod")
    price(product_of(order), "1799.00")
    pp_case = claim(order)
    assert ledger.balance_of(customer) == Decimal("200.00")
    set_milestones(order=order, cancelled_at=timezone.now())
    set_milestones(order=order, cancelled_at=timezone.now() + timedelta(seconds=1))  # a repeated push
    assert ledger.balance_of(customer) == Decimal("0.00")
    revocation = Revocation.objects.get(claim__case=pp_case)
    assert (revocation.cause, revocation.taken_from_account) == ("order_cancelled", Decimal("200.00"))
    pp_case.refresh_from_db()
    assert pp_case.status == "revoked"


def test_R_PP_6_a_refused_order_whose_coupon_was_spent_is_left_for_staff(customer):
    order = in_transit_order(customer, payment_mode="cod")
    price(product_of(order), "1799.00")
    coupon = Claim.objects.get(case=claim(order)).coupon
    ledger.use_coupon(code=coupon.code, customer=customer)
    set_milestones(order=order, cancelled_at=timezone.now())
    assert Revocation.objects.get().unrecovered == Decimal("200.00")


def test_R_PP_6_a_returned_repriced_order_has_nothing_to_take_back(customer, agent):
    order = in_transit_order(customer, payment_mode="cod", left_warehouse_at=None)
    price(product_of(order), "1799.00")
    claim(order)
    set_milestones(order=order, left_warehouse_at=timezone.now())
    return_case = returned_and_inspected(signed_now(order), agent)
    assert Refund.objects.get(case=return_case).amount == Decimal("1799.00")  # what was paid
    assert Revocation.objects.get().not_paid_out == Decimal("200.00")


# --- R-PP-5 under concurrency ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_R_PP_5_two_simultaneous_claims_on_one_order_make_one_claim():
    for _round in range(5):
        order = in_transit_order(factories.CustomerFactory())
        price(product_of(order), "1899.00")

        def attempt(order_id):
            return (lambda: Order.objects.get(pk=order_id), lambda o: services.file_claim(order=o, actor=o.customer))

        results = run_together(attempt(order.pk), attempt(order.pk))
        winners = [r for r in results if not isinstance(r, Exception)]
        losers = [r for r in results if isinstance(r, Exception)]
        assert len(winners) == 1, results
        assert len(losers) == 1 and isinstance(losers[0], PolicyRefused) and losers[0].rule == "R-PP-5", losers
        assert Claim.objects.filter(order=order).count() == 1
        assert Refund.objects.filter(order=order).count() == 1
    connection.close()


def test_a_price_recorded_ahead_of_time_is_swept_once_it_takes_effect(customer):
    from aftersales.orders.services.catalog import record_price_change
    from priceprotect.models import PriceDropOffer

    order = in_transit_order(customer)
    product = product_of(order)
    entry, _created = record_price_change(
        product=product,
        price=Decimal("1899.00"),
        kind=PriceKind.REGULAR,
        effective_at=timezone.now() + timedelta(hours=1),
    )
    assert services.sweep_prices_taking_effect(since=timezone.now() - timedelta(minutes=20)) == 0  # not yet
    later = timezone.now() + timedelta(hours=1, minutes=5)
    assert services.sweep_prices_taking_effect(since=later - timedelta(minutes=20), now=later) == 1
    assert PriceDropOffer.objects.get(price_change=entry).order == order
