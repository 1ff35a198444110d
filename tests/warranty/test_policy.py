"""The warranty's pure rules (R-WAR-1 … R-WAR-10), with the day boundaries counted in the shop's zone."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from aftersales.orders.guarantees import Remedy
from warranty import policy
from warranty.policy import CentreFacts, Knobs, ServiceMode

SH = ZoneInfo("Asia/Shanghai")
SIGNED = datetime(2026, 3, 10, 20, 30, tzinfo=SH)  # day 0 is 10 March, local
KNOBS = Knobs()


def on_day(day: int, hour: int = 23) -> datetime:
    return datetime(2026, 3, 10, hour, 59, tzinfo=SH) + timedelta(days=day)


def remedies(day: int, **kwargs) -> list[str]:
    verdict = policy.claim_verdict(
        signed_for_at=SIGNED,
        now=on_day(day),
        warranty_months=kwargs.pop("months", 12),
        repair_days=kwargs.pop("repair_days", 0),
        repairs_of_fault=kwargs.pop("repairs", 0),
        knobs=kwargs.pop("knobs", KNOBS),
    )
    return [r.remedy for r in verdict.remedies]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (0, [Remedy.RETURN, Remedy.EXCHANGE, Remedy.REPAIR]),
        (7, [Remedy.RETURN, Remedy.EXCHANGE, Remedy.REPAIR]),
        (8, [Remedy.EXCHANGE, Remedy.REPAIR]),
        (15, [Remedy.EXCHANGE, Remedy.REPAIR]),
        (16, [Remedy.REPAIR]),
        (20, [Remedy.REPAIR]),
    ],
)
def test_R_WAR_2_the_ladder_on_days_7_8_15_16(day, expected):
    assert remedies(day) == expected


def test_R_WAR_1_coverage_runs_from_sign_for_for_the_products_months():
    cover = policy.coverage(signed_for_at=SIGNED, warranty_months=12, repair_days=0, knobs=KNOBS)
    assert cover.ends_at == datetime(2027, 3, 9, 23, 59, 59, 999999, tzinfo=SH)
    assert policy.coverage(signed_for_at=None, warranty_months=12, repair_days=0, knobs=KNOBS) is None
    refused = policy.claim_verdict(
        signed_for_at=None, now=on_day(1), warranty_months=12, repair_days=0, repairs_of_fault=0, knobs=KNOBS
    )
    assert refused.refusal.rule == "R-WAR-1"


def test_R_WAR_2_out_of_warranty_is_refused_with_the_end_date():
    last = datetime(2027, 3, 9, 23, 0, tzinfo=SH)
    assert remedies(364) == [Remedy.REPAIR] and remedies(365) == []  # 9 March 2027 is the last day
    verdict = policy.claim_verdict(
        signed_for_at=SIGNED,
        now=last + timedelta(hours=2),
        warranty_months=12,
        repair_days=0,
        repairs_of_fault=0,
        knobs=KNOBS,
    )
    assert verdict.refusal.rule == "R-WAR-2" and "2027-03-09" in verdict.refusal.message
    inside = policy.claim_verdict(
        signed_for_at=SIGNED, now=last, warranty_months=12, repair_days=0, repairs_of_fault=0, knobs=KNOBS
    )
    assert [r.remedy for r in inside.remedies] == [Remedy.REPAIR]


def test_R_WAR_8_days_in_repair_extend_the_warranty_unless_turned_off():
    after_end = datetime(2027, 3, 20, 12, 0, tzinfo=SH)
    extended = policy.claim_verdict(
        signed_for_at=SIGNED, now=after_end, warranty_months=12, repair_days=14, repairs_of_fault=0, knobs=KNOBS
    )
    assert extended.coverage.extension_days == 14 and [r.remedy for r in extended.remedies] == [Remedy.REPAIR]
    assert extended.remedy(Remedy.REPAIR).open_until == datetime(2027, 3, 23, 23, 59, 59, 999999, tzinfo=SH)
    off = Knobs(extend_by_repair_days=False)
    plain = policy.claim_verdict(
        signed_for_at=SIGNED, now=after_end, warranty_months=12, repair_days=14, repairs_of_fault=0, knobs=off
    )
    assert plain.refusal.rule == "R-WAR-2"


def test_R_WAR_8_days_in_repair_count_local_calendar_days():
    received = datetime(2026, 5, 1, 23, 0, tzinfo=SH)
    assert policy.days_in_repair(received, datetime(2026, 5, 2, 0, 30, tzinfo=SH)) == 1
    assert policy.days_in_repair(received, datetime(2026, 5, 1, 23, 30, tzinfo=SH)) == 0
    assert policy.days_in_repair(received, datetime(2026, 5, 15, 9, 0, tzinfo=SH)) == 14


def test_R_WAR_9_after_two_repairs_of_one_fault_replacement_or_refund_opens():
    assert remedies(100, repairs=1) == [Remedy.REPAIR]
    verdict = policy.claim_verdict(
        signed_for_at=SIGNED, now=on_day(100), warranty_months=12, repair_days=0, repairs_of_fault=2, knobs=KNOBS
    )
    assert [(r.remedy, r.rule) for r in verdict.remedies] == [
        (Remedy.RETURN, "R-WAR-9"),
        (Remedy.EXCHANGE, "R-WAR-9"),
        (Remedy.REPAIR, "R-WAR-2"),
    ]
    assert remedies(100, repairs=1, knobs=Knobs(repairs_before_replacement=1))[:2] == [Remedy.RETURN, Remedy.EXCHANGE]
    # Inside the ladder's own windows the ladder's remedy stands (R-WAR-2), not a second copy.
    early = policy.claim_verdict(
        signed_for_at=SIGNED, now=on_day(3), warranty_months=12, repair_days=0, repairs_of_fault=2, knobs=KNOBS
    )
    assert [r.rule for r in early.remedies] == ["R-WAR-2", "R-WAR-2", "R-WAR-2"]


def test_R_WAR_10_the_long_repair_offer_is_due_after_the_configured_days():
    received = datetime(2026, 5, 1, 10, 0, tzinfo=SH)
    assert policy.long_repair_at(received, KNOBS) == datetime(2026, 5, 31, 10, 0, tzinfo=SH)
    assert policy.long_repair_at(received, Knobs(long_repair_days=10)) == datetime(2026, 5, 11, 10, 0, tzinfo=SH)


def test_R_WAR_4_missing_documents_are_listed_and_the_invoice_blocks():
    declared = {"original_invoice": True, "warranty_card": False, "accessories": True, "packaging": False}
    missing = policy.missing_documents(declared)
    assert missing == ["warranty_card", "packaging", "manual"]
    assert policy.document_refusal(missing, KNOBS) is None
    refusal = policy.document_refusal(["original_invoice", "manual"], KNOBS)
    assert refusal.rule == "R-WAR-4" and "Original invoice" in refusal.message
    strict = Knobs(blocking_documents=frozenset({"original_invoice", "warranty_card"}))
    assert policy.document_refusal(missing, strict).rule == "R-WAR-4"


def test_R_WAR_6_a_wearing_part_is_free_only_while_covered():
    price = Decimal("89.00")
    assert policy.accessory_price(price=price, wearing_part=True, covered=True) == Decimal("0.00")
    assert policy.accessory_price(price=price, wearing_part=True, covered=False) == price
    assert policy.accessory_price(price=price, wearing_part=False, covered=True) == price


def test_R_WAR_7_routing_by_brand_then_region():
    centres = [
        CentreFacts(pk=3, brand_ids=frozenset({1}), regions=frozenset({"上海"}), on_site=True),
        CentreFacts(pk=1, brand_ids=frozenset({1, 2}), regions=frozenset({"北京"}), on_site=False),
        CentreFacts(pk=2, brand_ids=frozenset({2}), regions=frozenset({"上海"}), on_site=False),
    ]
    assert policy.route(centres, brand_id=1, region="上海", mode=ServiceMode.SHIP_IN) == 3
    assert policy.route(centres, brand_id=1, region="广东", mode=ServiceMode.SHIP_IN) == 1  # the unit travels
    assert policy.route(centres, brand_id=2, region="上海", mode=ServiceMode.SHIP_IN) == 2
    assert policy.route(centres, brand_id=9, region="上海", mode=ServiceMode.SHIP_IN) is None  # the shop
    assert policy.route(centres, brand_id=1, region="上海", mode=ServiceMode.ON_SITE) == 3
    assert policy.route(centres, brand_id=2, region="上海", mode=ServiceMode.ON_SITE) is None  # nobody visits
    assert policy.route(centres, brand_id=1, region="上海市徐汇区", mode=ServiceMode.SHIP_IN) == 3  # within 上海
