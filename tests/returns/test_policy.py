"""The return policy engine (returns/policy.py): pure functions, every rule by its id.

Times are in the shop's zone (Asia/Shanghai): day 0 is the local sign-for day, so a parcel signed for
at 23:30 local on 1 November has its day 7 on 8 November, whatever the UTC date."""

import itertools
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales.orders.guarantees import Remedy, add_months, day_number, quality_remedies, warranty_end
from returns.policy import (
    CategoryRules,
    Condition,
    CustomerFacts,
    Kind,
    LineFacts,
    Payer,
    Reason,
    ShopPolicy,
    auto_approvable,
    check_condition,
    condition_questions,
    line_verdict,
    missing_gift_value,
    refund_amount,
    return_shipping_paid_by,
    units_paid,
)

SH = ZoneInfo("Asia/Shanghai")
SIGNED = datetime(2026, 11, 1, 23, 30, tzinfo=SH)  # 15:30 UTC


def on_day(n: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, 1, hour, 0, tzinfo=SH) + timedelta(days=n)


def line(**changes) -> LineFacts:
    base = LineFacts(
        quantity=2,
        requested_quantity=0,
        is_gift=False,
        category=CategoryRules(),
        warranty_months=12,
        paid_at=SIGNED - timedelta(days=3),
        left_warehouse_at=SIGNED - timedelta(days=2),
        signed_for_at=SIGNED,
    )
    return replace(base, **changes)


def test_day_zero_is_the_local_sign_for_day():
    assert day_number(SIGNED, SIGNED.replace(hour=23, minute=59)) == 0
    assert day_number(SIGNED, datetime(2026, 11, 2, 0, 1, tzinfo=SH)) == 1
    # 16:00 UTC on 1 Nov is already 2 Nov in Shanghai.
    assert day_number(SIGNED, datetime(2026, 11, 1, 16, 0, tzinfo=ZoneInfo("UTC"))) == 1


def test_R_RET_1_no_reason_return_open_through_day_7_closed_on_day_8():
    """R-RET-1: open while local day <= 7, closing at the end of local day 7."""
    verdict = line_verdict(line(), now=on_day(7, hour=23))
    option = verdict.option(Kind.RETURN, Reason.NO_REASON)
    assert option is not None
    assert option.open_until == datetime(2026, 11, 8, 23, 59, 59, 999999, tzinfo=SH)
    refused = line_verdict(line(), now=on_day(8, hour=0)).refusal(Kind.RETURN, Reason.NO_REASON)
    assert refused.rule == "R-RET-1"


def test_R_RET_1_category_without_no_reason_returns():
    """R-RET-1: only for products whose category allows it."""
    facts = line(category=CategoryRules(no_reason_return_allowed=False))
    assert line_verdict(facts, now=on_day(1)).refusal(Kind.RETURN, Reason.NO_REASON).rule == "R-RET-1"


def test_R_RET_2_three_guarantees_ladder_at_days_7_8_15_16():
    """R-RET-2: 0–7 return/exchange/repair, 8–15 exchange/repair, then repair in warranty."""
    day7 = line_verdict(line(), now=on_day(7))
    assert day7.option(Kind.RETURN, Reason.QUALITY) and day7.option(Kind.EXCHANGE, Reason.QUALITY)
    day8 = line_verdict(line(), now=on_day(8))
    assert day8.refusal(Kind.RETURN, Reason.QUALITY).rule == "R-RET-2"
    assert day8.option(Kind.EXCHANGE, Reason.QUALITY).open_until == datetime(
        2026, 11, 16, 23, 59, 59, 999999, tzinfo=SH
    )
    day15 = line_verdict(line(), now=on_day(15, hour=23))
    assert day15.option(Kind.EXCHANGE, Reason.QUALITY)
    day16 = line_verdict(line(), now=on_day(16, hour=0))
    refusal = day16.refusal(Kind.EXCHANGE, Reason.QUALITY)
    assert refusal.rule == "R-RET-2" and "warranty claim" in refusal.message


def test_R_RET_2_ladder_shared_with_warranty_ends_with_the_warranty():
    """R-RET-2 / R-WAR-2: the ladder lives in the core and ends at the warranty's last day."""
    steps = quality_remedies(signed_for_at=SIGNED, now=on_day(3), warranty_months=12)
    assert [s.remedy for s in steps] == [Remedy.RETURN, Remedy.EXCHANGE, Remedy.REPAIR]
    end = warranty_end(SIGNED, 12)
    assert end == datetime(2027, 10, 31, 23, 59, 59, 999999, tzinfo=SH)
    assert [s.remedy for s in quality_remedies(signed_for_at=SIGNED, now=end, warranty_months=12)] == [Remedy.REPAIR]
    assert quality_remedies(signed_for_at=SIGNED, now=end + timedelta(seconds=1), warranty_months=12) == []
    after = line_verdict(line(), now=end + timedelta(days=1)).refusal(Kind.EXCHANGE, Reason.QUALITY)
    assert after.rule == "R-RET-2" and "paid repair" in after.message
    assert add_months(datetime(2026, 1, 31).date(), 1) == datetime(2026, 2, 28).date()


def test_R_RET_2_quality_exchange_is_owed_even_where_ordinary_exchange_is_off():
    """R-RET-2 over R-RET-5: the three guarantees are not the category's to switch off."""
    facts = line(category=CategoryRules(exchange_allowed=False))
    verdict = line_verdict(facts, now=on_day(10))
    assert verdict.option(Kind.EXCHANGE, Reason.QUALITY)
    assert verdict.refusal(Kind.EXCHANGE, Reason.NO_REASON).rule == "R-RET-5"


def test_R_RET_3_transit_damage_and_missing_parts_within_7_days_with_photos():
    """R-RET-3: return or exchange within 7 days; photos required (R-RET-8)."""
    verdict = line_verdict(line(), now=on_day(7))
    for kind in (Kind.RETURN, Kind.EXCHANGE):
        for reason in (Reason.TRANSIT_DAMAGE, Reason.MISSING_PARTS):
            option = verdict.option(kind, reason)
            assert option.photos_required and option.return_shipping_paid_by == Payer.SHOP
    assert line_verdict(line(), now=on_day(8)).refusal(Kind.RETURN, Reason.TRANSIT_DAMAGE).rule == "R-RET-3"


def test_R_RET_4_wrong_item_shop_pays_and_photos_required():
    """R-RET-4: wrong item → return or exchange, the shop pays shipping."""
    option = line_verdict(line(), now=on_day(12)).option(Kind.RETURN, Reason.WRONG_ITEM)
    assert option.return_shipping_paid_by == Payer.SHOP and option.photos_required
    assert line_verdict(line(), now=on_day(16)).refusal(Kind.EXCHANGE, Reason.WRONG_ITEM).rule == "R-RET-4"


def test_R_RET_5_exchange_only_after_sign_for_within_15_days_and_if_the_category_allows():
    """R-RET-5: received goods only, within 15 days, categories may disable exchange."""
    unsigned = line(signed_for_at=None)
    assert line_verdict(unsigned, now=on_day(1)).refusal(Kind.EXCHANGE, Reason.NO_REASON).rule == "R-RET-5"
    assert line_verdict(line(), now=on_day(15)).option(Kind.EXCHANGE, Reason.NO_REASON)
    assert line_verdict(line(), now=on_day(16)).refusal(Kind.EXCHANGE, Reason.NO_REASON).rule == "R-RET-5"
    off = line(category=CategoryRules(exchange_allowed=False))
    assert line_verdict(off, now=on_day(1)).refusal(Kind.EXCHANGE, Reason.NO_REASON).rule == "R-RET-5"


def test_R_RET_6_condition_questions_follow_the_product_flags():
    """R-RET-6: structured declarations, asked per product flags."""
    phone = line(is_electronics=True)
    assert set(condition_questions(phone)) >= {
        Condition.PACKAGE_OPENED,
        Condition.POWERED_ON,
        Condition.ACTIVATED,
        Condition.CARD_INSERTED,
        Condition.ACCESSORIES_COMPLETE,
    }
    assert Condition.SEAL_INTACT in condition_questions(line(is_luxury=True))
    assert Condition.POWERED_ON not in condition_questions(line())


@pytest.mark.parametrize(
    ("flags", "declared", "refused"),
    [
        (
            {"is_electronics": True},
            {
                "package_opened": False,
                "powered_on": False,
                "activated": False,
                "card_inserted": False,
                "water_exposure": False,
                "accessories_complete": True,
            },
            False,
        ),
        (
            {"is_electronics": True},
            {
                "package_opened": True,
                "powered_on": False,
                "activated": False,
                "card_inserted": False,
                "water_exposure": False,
                "accessories_complete": True,
            },
            True,
        ),
        (
            {"is_electronics": True},
            {
                "package_opened": False,
                "powered_on": True,
                "activated": False,
                "card_inserted": False,
                "water_exposure": False,
                "accessories_complete": True,
            },
            True,
        ),
        (
            {"is_electronics": True},
            {
                "package_opened": False,
                "powered_on": False,
                "activated": False,
                "card_inserted": True,
                "water_exposure": False,
                "accessories_complete": True,
            },
            True,
        ),
        ({"is_luxury": True}, {"seal_intact": False, "water_exposure": False, "accessories_complete": True}, True),
        ({"is_luxury": True}, {"seal_intact": True, "water_exposure": False, "accessories_complete": True}, False),
        (
            {"is_sealed": True},
            {"package_opened": True, "seal_intact": True, "water_exposure": False, "accessories_complete": True},
            True,
        ),
        ({}, {"water_exposure": True, "accessories_complete": True}, True),
        ({}, {"water_exposure": False, "accessories_complete": False}, True),
        ({}, {"water_exposure": False, "accessories_complete": True}, False),
        ({"is_electronics": True}, {}, True),  # no answers: the worse case is assumed
    ],
)
def test_R_RET_6_not_resaleable_voids_a_no_reason_return(flags, declared, refused):
    """R-RET-6: seals, opened packaging of electronics, powered on, wet, card inserted."""
    result = check_condition(line(**flags), declared)
    assert (result is not None) == refused
    if refused:
        assert result.rule == "R-RET-6"


def test_R_RET_7_never_returnable_kinds_keep_quality_rules():
    """R-RET-7: jewelry & co. are never no-reason returnable; quality problems still are."""
    jewelry = line(category=CategoryRules(never_returnable_kind="jewelry"))
    verdict = line_verdict(jewelry, now=on_day(2))
    assert verdict.refusal(Kind.RETURN, Reason.NO_REASON).rule == "R-RET-7"
    assert verdict.refusal(Kind.EXCHANGE, Reason.NO_REASON).rule == "R-RET-7"
    assert verdict.option(Kind.RETURN, Reason.QUALITY)


def test_R_RET_8_photos_are_required_for_the_shops_faults_not_for_no_reason():
    """R-RET-8: damage, missing parts, wrong item and quality problems must carry photos."""
    verdict = line_verdict(line(), now=on_day(2))
    assert verdict.option(Kind.RETURN, Reason.QUALITY).photos_required
    assert not verdict.option(Kind.RETURN, Reason.NO_REASON).photos_required


def test_R_RET_12_return_shipping_responsibility():
    """R-RET-12: shop pays its faults; customer pays no-reason, except first-time and quota."""
    shop = ShopPolicy(free_returns_per_year=2)
    assert return_shipping_paid_by(Reason.QUALITY, CustomerFacts(), shop) == Payer.SHOP
    assert (
        return_shipping_paid_by(
            Reason.NO_REASON, CustomerFacts(first_time_buyer=True, free_returns_used_this_year=9), shop
        )
        == Payer.SHOP
    )
    assert return_shipping_paid_by(Reason.NO_REASON, CustomerFacts(free_returns_used_this_year=1), shop) == Payer.SHOP
    assert (
        return_shipping_paid_by(Reason.NO_REASON, CustomerFacts(free_returns_used_this_year=2), shop) == Payer.CUSTOMER
    )
    verdict = line_verdict(line(), now=on_day(1), shop=ShopPolicy(free_returns_per_year=0))
    assert verdict.option(Kind.RETURN, Reason.NO_REASON).return_shipping_paid_by == Payer.CUSTOMER


def test_R_RET_13_partial_returns_never_over_refund_and_gifts():
    """R-RET-13: any subset of units; never more than paid for them or left on the order; gifts."""
    # 3 units for 100.00 in all: 33.33 + 33.33 + 33.34, whichever way they come back.
    assert units_paid(Decimal("100.00"), 3, already_returned=0, returning=1) == Decimal("33.33")
    assert units_paid(Decimal("100.00"), 3, already_returned=1, returning=2) == Decimal("66.67")
    with pytest.raises(ValueError):
        units_paid(Decimal("100.00"), 3, already_returned=2, returning=2)
    assert refund_amount(goods=Decimal("66.67"), missing_gift_value=Decimal("10"), remaining=Decimal("500")) == Decimal(
        "56.67"
    )
    assert refund_amount(goods=Decimal("66.67"), remaining=Decimal("20.00")) == Decimal("20.00")
    assert refund_amount(goods=Decimal("5"), deductions=Decimal("9"), remaining=Decimal("20")) == Decimal("0.00")
    # One gift per two main units: returning 1 main unit owes 1 gift back.
    assert missing_gift_value(
        gift_unit_value=Decimal("149"), gift_quantity=1, main_quantity=2, main_returning=1, gifts_returning=0
    ) == Decimal("149")
    assert (
        missing_gift_value(
            gift_unit_value=Decimal("149"), gift_quantity=1, main_quantity=2, main_returning=1, gifts_returning=1
        )
        == 0
    )
    gift = line_verdict(line(is_gift=True), now=on_day(1))
    assert not gift.options and {r.rule for r in gift.refused} == {"R-RET-13"}
    used_up = line_verdict(line(requested_quantity=2), now=on_day(1))
    assert used_up.returnable_quantity == 0 and not used_up.options


@given(
    paid=st.decimals(min_value=0, max_value=100000, places=2),
    quantity=st.integers(min_value=1, max_value=50),
    data=st.data(),
)
def test_R_RET_13_parts_add_up_to_the_line_exactly(paid, quantity, data):
    """R-RET-13: however the units are split over returns, the refunds sum to what was paid."""
    cuts = sorted(data.draw(st.lists(st.integers(min_value=0, max_value=quantity), max_size=5)))
    points = [0, *cuts, quantity]
    parts = [units_paid(paid, quantity, already_returned=a, returning=b - a) for a, b in itertools.pairwise(points)]
    assert sum(parts) == paid
    assert all(p >= 0 for p in parts)


def test_R_RET_14_lost_parcel_reissue_and_refund_only_before_shipping():
    """R-RET-14: lost in transit → reissue; paid but not shipped → refund only."""
    in_transit = line(signed_for_at=None)
    verdict = line_verdict(in_transit, now=on_day(1))
    assert verdict.option(Kind.REISSUE, Reason.NOT_RECEIVED)
    assert verdict.refusal(Kind.REFUND_ONLY, Reason.NOT_RECEIVED).rule == "R-RET-14"
    not_shipped = line(signed_for_at=None, left_warehouse_at=None)
    verdict = line_verdict(not_shipped, now=on_day(1))
    assert verdict.option(Kind.REFUND_ONLY, Reason.NOT_RECEIVED).return_shipping_paid_by == Payer.SHOP
    assert verdict.refusal(Kind.REISSUE, Reason.NOT_RECEIVED).rule == "R-RET-14"
    delivered = line_verdict(line(), now=on_day(3))
    assert delivered.option(Kind.REISSUE, Reason.MISSING_PARTS)
    assert delivered.refusal(Kind.REISSUE, Reason.NOT_RECEIVED).rule == "R-RET-14"


def test_R_RET_15_auto_approval_limit():
    """R-RET-15: requests under the configured amount are approved without an agent."""
    shop = ShopPolicy(auto_approve_limit=Decimal("300.00"))
    assert auto_approvable(estimate=Decimal("300.00"), shop=shop)
    assert not auto_approvable(estimate=Decimal("300.01"), shop=shop)


def test_every_request_is_answered_once_either_open_or_refused():
    """R-RET-15 (policy transparency): the customer sees every option, open or refused with a reason."""
    from returns.policy import REQUESTS

    for day in (0, 7, 8, 15, 16, 400):
        verdict = line_verdict(line(), now=on_day(day))
        answered = [(o.kind, o.reason) for o in verdict.options] + [(r.kind, r.reason) for r in verdict.refused]
        assert sorted(answered) == sorted(REQUESTS)
        assert all(r.rule.startswith("R-RET-") and r.message for r in verdict.refused)
