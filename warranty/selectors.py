"""Reads the warranty API, portal, dashboard and services share: the facts `warranty.policy` judges."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from aftersales.cases.calendar import business_days_between, is_business_day
from aftersales.orders.models import OrderLine

from . import policy
from .models import Claim, ServiceCentre, Unit, WarrantySettings
from .workflow import IN_WORKSHOP


def knobs() -> policy.Knobs:
    return WarrantySettings.current().knobs()


def _same_unit(line: OrderLine, unit: Unit | None) -> Q:
    """Claims on the same physical unit. A line of one is that one unit, whether or not a claim named
    its serial (a repair filed before the serial was registered still counts for R-WAR-8/9); on a line
    of several, by serial when known, else the line's unregistered claims."""
    if line.quantity == 1:
        return Q(order_line=line)
    if unit is not None:
        return Q(unit=unit)
    return Q(order_line=line, unit__isnull=True)


def repair_days(line: OrderLine, unit: Unit | None = None) -> int:
    """R-WAR-8: days the unit has already spent in (covered) repairs."""
    return (
        Claim.objects.filter(_same_unit(line, unit), shipped_back_at__isnull=False).aggregate(days=Sum("repair_days"))[
            "days"
        ]
        or 0
    )


def repairs_of_fault(line: OrderLine, fault: str, unit: Unit | None = None) -> int:
    """R-WAR-9: completed free repairs of this fault on this unit."""
    return Claim.objects.filter(
        _same_unit(line, unit), fault=fault, diagnosis=policy.Diagnosis.COVERED, shipped_back_at__isnull=False
    ).count()


def warranty_months(line: OrderLine) -> int:
    return line.product.effective_warranty_months


def line_coverage(line: OrderLine, unit: Unit | None = None, *, settings: policy.Knobs | None = None):
    """R-WAR-1: the line's (or unit's) coverage, or None before sign-for."""
    return policy.coverage(
        signed_for_at=line.order.signed_for_at,
        warranty_months=warranty_months(line),
        repair_days=repair_days(line, unit),
        knobs=settings or knobs(),
    )


def claim_verdict(line: OrderLine, fault: str, unit: Unit | None = None, *, now: datetime | None = None):
    return policy.claim_verdict(
        signed_for_at=line.order.signed_for_at,
        now=now or timezone.now(),
        warranty_months=warranty_months(line),
        repair_days=repair_days(line, unit),
        repairs_of_fault=repairs_of_fault(line, fault, unit),
        knobs=knobs(),
    )


def coverable_lines(customer) -> QuerySet[OrderLine]:
    """The customer's purchased lines that a warranty can cover: signed for, not cancelled, not a gift
    (a gift is covered through the item it came with, R-WAR-1)."""
    return (
        OrderLine.objects.filter(
            order__customer=customer, order__signed_for_at__isnull=False, order__cancelled_at=None, gift_of=None
        )
        .select_related("order", "product__category", "product__brand")
        .prefetch_related("units")
        .order_by("-order__signed_for_at", "order_id", "line_no")
    )


@dataclass(frozen=True)
class LineCovers:
    """R-WAR-1 / R-WAR-8 for one line: its own coverage (that of any unit without a registered serial)
    and each registered unit's."""

    line: OrderLine
    coverage: policy.Coverage
    units: list[tuple[Unit, policy.Coverage]]


def line_covers(lines: Sequence[OrderLine], *, settings: policy.Knobs | None = None) -> list[LineCovers]:
    """`line_coverage` for a page of signed-for lines (units prefetched) in one query: the days each unit
    spent in repair are summed as `_same_unit` groups claims."""
    settings = settings or knobs()
    shipped: dict[int, list[tuple[int | None, int]]] = {}
    for line_id, unit_id, days in Claim.objects.filter(
        order_line__in=[line.pk for line in lines], shipped_back_at__isnull=False
    ).values_list("order_line_id", "unit_id", "repair_days"):
        shipped.setdefault(line_id, []).append((unit_id, days))

    def cover(line: OrderLine, unit_id: int | None) -> policy.Coverage:
        days = sum(d for u, d in shipped.get(line.pk, ()) if line.quantity == 1 or u == unit_id)
        return policy.coverage(
            signed_for_at=line.order.signed_for_at,
            warranty_months=warranty_months(line),
            repair_days=days,
            knobs=settings,
        )

    return [
        LineCovers(line=line, coverage=cover(line, None), units=[(u, cover(line, u.pk)) for u in line.units.all()])
        for line in lines
    ]


def claim_verdicts(line: OrderLine, unit: Unit | None = None, *, now: datetime | None = None):
    """{fault: `claim_verdict`} for every fault. Only a fault already repaired on this unit can judge
    differently (R-WAR-9), so those are judged one by one and every other fault shares one verdict."""
    now = now or timezone.now()
    repaired = set(
        Claim.objects.filter(
            _same_unit(line, unit), diagnosis=policy.Diagnosis.COVERED, shipped_back_at__isnull=False
        ).values_list("fault", flat=True)
    )
    judged = {fault: claim_verdict(line, fault, unit, now=now) for fault in repaired}
    fresh = next((f for f in policy.Fault.values if f not in repaired), None)
    first_time = claim_verdict(line, fresh, unit, now=now) if fresh is not None else None
    return {fault: judged.get(fault, first_time) for fault in policy.Fault.values}


def units_of(customer) -> QuerySet[Unit]:
    return Unit.objects.filter(order_line__order__customer=customer)


def centre_facts() -> list[policy.CentreFacts]:
    return [
        policy.CentreFacts(
            pk=centre.pk,
            brand_ids=frozenset(b.pk for b in centre.brands.all()),
            regions=frozenset(centre.regions or []),
            on_site=centre.on_site,
        )
        for centre in ServiceCentre.objects.filter(active=True).prefetch_related("brands")
    ]


def centre_business_days(centre: ServiceCentre | None, start: date, end: date) -> int:
    """Working days in (start, end] on the shop's calendar, less the centre's own closed days."""
    days = business_days_between(start, end)
    if centre is not None:
        closed = centre.closures.filter(date__gt=start, date__lte=end).values_list("date", flat=True)
        days -= sum(1 for day in closed if is_business_day(day))
    return max(days, 0)


def claims_visible_to(user) -> QuerySet[Claim]:
    claims = Claim.objects.select_related("case", "order_line__order", "order_line__product", "centre", "unit")
    if user.is_staff:
        return claims
    return claims.filter(case__customer=user)


def repair_board() -> QuerySet[Claim]:
    """Claims whose unit is in the workshop, oldest arrival first."""
    return claims_visible_to_staff().filter(case__status__in=IN_WORKSHOP).order_by("received_at", "pk")


def claims_visible_to_staff() -> QuerySet[Claim]:
    return Claim.objects.select_related("case__customer", "order_line__order", "order_line__product", "centre")
