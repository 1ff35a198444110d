"""Price-protection rules as pure functions (DOMAIN §4): no database."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from priceprotect import policy

SH = ZoneInfo("Asia/Shanghai")
PAID = datetime(2026, 11, 10, 9, 0, tzinfo=SH)
SIGNED = datetime(2026, 11, 20, 23, 30, tzinfo=SH)


def order(**overrides) -> policy.OrderFacts:
    values = {
        "payment_mode": "prepaid",
        "is_b2b": False,
        "placed_at": PAID - timedelta(minutes=5),
        "paid_at": PAID,
        "left_warehouse_at": PAID + timedelta(days=1),
        "signed_for_at": SIGNED,
        "cancelled_at": None,
        "claimed": False,
    }
    return policy.OrderFacts(**{**values, **overrides})


def line(*, paid="1999.00", quantity=1, regular="1799.00", since=PAID + timedelta(days=2), **overrides):
    values = {
        "line_id": 1,
        "is_gift": False,
        "quantity": quantity,
        "returned": 0,
        "paid_amount": Decimal(paid),
        "basis": policy.Basis(regular=Decimal(regular), regular_since=since),
        "window_days": 0,
    }
    return policy.LineFacts(**{**values, **overrides})


def verdict(o=None, lines=None, now=SIGNED):
    return policy.claim_verdict(o or order(), lines or [line()], now)


# --- R-PP-1 ------------------------------------------------------------------------------------------


def test_R_PP_1_the_difference_times_the_quantity():
    v = verdict(lines=[line(paid="3998.00", quantity=2)])
    assert v.refusal is None and v.amount == Decimal("400.00")
    (only,) = v.lines
    assert (only.paid_unit, only.basis, only.units, only.drop_percent) == (
        Decimal("1999.00"),
        Decimal("1799.00"),
        2,
        Decimal("10.01"),
    )


def test_R_PP_1_the_paid_price_is_after_discounts_and_never_negative():
    # Paid 1700 for a 1999 list price (a discount): a regular price of 1799 gives nothing.
    v = verdict(lines=[line(paid="1700.00")])
    assert v.refusal.rule == "R-PP-1" and v.amount == 0
    assert policy.compensation(paid_amount=Decimal("1700.00"), units=1, quantity=1, basis=Decimal("1799")) == 0


def test_R_PP_1_a_regular_price_older_than_the_payment_is_no_drop():
    v = verdict(lines=[line(since=PAID - timedelta(days=1))])
    assert v.refusal.rule == "R-PP-1"


def test_R_PP_1_exact_cents_when_a_discounted_line_is_split_into_units():
    # 3 units paid 100.00 together: 33.33 + 33.33 + 33.34; the basis 30 gives 10.00, not 9.99.
    assert policy.compensation(paid_amount=Decimal("100.00"), units=3, quantity=3, basis=Decimal("30")) == Decimal(
        "10.00"
    )


# --- R-PP-2: the window in the shop's time zone -------------------------------------------------------


def test_R_PP_2_open_until_the_last_second_of_the_sign_for_day_in_shanghai():
    last_second = datetime(2026, 11, 20, 23, 59, 59, tzinfo=SH)
    assert verdict(now=last_second).refusal is None
    next_day = datetime(2026, 11, 21, 0, 0, 0, tzinfo=SH)
    refusal = verdict(now=next_day).refusal
    assert refusal.rule == "R-PP-2" and "ended" in refusal.message
    # 16:00 UTC on the 20th is already the 21st in Shanghai: closed, though it is "the 20th" in UTC.
    assert verdict(now=datetime(2026, 11, 20, 16, 0, tzinfo=ZoneInfo("UTC"))).refusal.rule == "R-PP-2"


def test_R_PP_2_a_category_window_of_seven_days_ends_with_day_seven():
    seven = [line(window_days=7)]
    assert verdict(lines=seven, now=datetime(2026, 11, 27, 23, 59, tzinfo=SH)).refusal is None
    assert verdict(lines=seven, now=datetime(2026, 11, 28, 0, 1, tzinfo=SH)).refusal.rule == "R-PP-2"


def test_R_PP_2_each_line_keeps_its_own_category_window():
    lines = [line(line_id=1, window_days=0), line(line_id=2, window_days=15)]
    v = verdict(lines=lines, now=datetime(2026, 11, 25, 12, 0, tzinfo=SH))
    assert [x.eligible for x in v.lines] == [False, True]
    assert v.lines[0].refusal.rule == "R-PP-2" and v.amount == Decimal("200.00")


def test_R_PP_2_open_while_in_transit_and_not_before_payment():
    assert verdict(order(signed_for_at=None), now=SIGNED + timedelta(days=30)).refusal is None
    unpaid = order(paid_at=None, left_warehouse_at=None, signed_for_at=None)
    assert verdict(unpaid, now=PAID).refusal.rule == "R-PP-2"


def test_R_PP_2_cash_on_delivery_opens_when_placed():
    cod = order(payment_mode="cod", paid_at=None, signed_for_at=None)
    assert policy.window_opens_at(cod) == cod.placed_at
    assert verdict(cod, now=PAID).refusal is None


# --- R-PP-3: how it is paid ----------------------------------------------------------------------------


def test_R_PP_3_prepaid_is_credited():
    assert verdict().mode == policy.Mode.CREDIT


def test_R_PP_3_cod_and_pickup_still_in_the_warehouse_are_repriced():
    for mode in ("cod", "pickup"):
        o = order(payment_mode=mode, paid_at=None, left_warehouse_at=None, signed_for_at=None)
        assert verdict(o, now=PAID).mode == policy.Mode.REPRICE


def test_R_PP_3_cod_after_leaving_the_warehouse_is_credited_like_prepaid():
    o = order(payment_mode="cod", paid_at=None, signed_for_at=None)
    assert verdict(o, now=PAID + timedelta(days=2)).mode == policy.Mode.CREDIT


# --- R-PP-4: exclusions --------------------------------------------------------------------------------


def test_R_PP_4_a_flash_sale_or_pricing_error_below_the_paid_price_is_never_a_basis():
    # The regular price is unchanged (1999, set before payment); a flash sale shows 999.
    promo = line(regular="1999.00", since=PAID - timedelta(days=30))
    promo = policy.LineFacts(**{**promo.__dict__, "basis": policy.Basis(Decimal("1999.00"), PAID, Decimal("999.00"))})
    refusal = verdict(lines=[promo]).refusal
    assert refusal.rule == "R-PP-4" and "promotion" in refusal.message


def test_R_PP_4_b2b_orders_and_gifts_are_not_eligible():
    assert verdict(order(is_b2b=True)).refusal.rule == "R-PP-4"
    gift = line(is_gift=True, paid="0.00")
    v = verdict(lines=[gift])
    assert v.refusal.rule == "R-PP-4" and v.lines[0].refusal.rule == "R-PP-4"


# --- R-PP-5, R-PP-6, R-PP-7 ------------------------------------------------------------------------------


def test_R_PP_5_one_claim_per_order():
    assert verdict(order(claimed=True)).refusal.rule == "R-PP-5"


def test_R_PP_6_returned_units_and_cancelled_orders_get_nothing():
    v = verdict(lines=[line(paid="3998.00", quantity=2, returned=1)])
    assert v.amount == Decimal("200.00") and v.lines[0].units == 1
    assert verdict(lines=[line(returned=1)]).refusal.rule == "R-PP-6"
    assert verdict(order(cancelled_at=SIGNED)).refusal.rule == "R-PP-6"


def test_R_PP_7_a_drop_above_the_review_percentage_goes_to_an_agent():
    steep = verdict(lines=[line(regular="999.00")])  # −50.03 %
    assert steep.refusal is None and steep.needs_review(Decimal("50"))
    assert not steep.needs_review(Decimal("60"))
    assert not verdict().needs_review(Decimal("50"))
