"""Reads the warranty API, portal, dashboard and services share: the facts `warranty.policy` judges."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.cases import services as case_services
from aftersales.cases import workflow as case_workflow
from aftersales.cases.calendar import business_days_between, is_business_day
from aftersales.cases.models import Case, CaseKind
from aftersales.cases.selectors import cases_visible_to
from aftersales.common.errors import NotAllowed
from aftersales.orders.models import OrderLine

from . import policy
from .models import Claim, ServiceCentre, Unit, WarrantySettings
from .workflow import IN_WORKSHOP


def knobs() -> policy.Knobs:
    return WarrantySettings.current().knobs()


def _same_unit(line: OrderLine, unit: Unit | None) -> Q:
    """Claims on the same physical unit: by serial when known, else the line's unregistered claims."""
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
    """The customer's purchased lines that a warranty can cover: signed for, not a gift, not B2B-excluded."""
    return (
        OrderLine.objects.filter(order__customer=customer, order__signed_for_at__isnull=False, order__cancelled_at=None)
        .select_related("order", "product__category", "product__brand")
        .prefetch_related("units")
        .order_by("-order__signed_for_at", "order_id", "line_no")
    )


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


# --- What the API and the portal show -----------------------------------------------------------------


@dataclass(frozen=True)
class UnitCoverage:
    """A registered unit and its own coverage: R-WAR-8 extends a unit by its own days in repair."""

    unit: Unit
    coverage: policy.Coverage | None


@dataclass(frozen=True)
class LineCoverage:
    """A line's warranty as the customer sees it: coverage (None before sign-for) for a unit claimed
    without a serial number, each registered unit's own, and the remedies a performance fault opens
    today (or why none is open)."""

    line: OrderLine
    coverage: policy.Coverage | None
    units: list[UnitCoverage]
    verdict: policy.ClaimVerdict


def order_coverage(order) -> list[LineCoverage]:
    """R-WAR-1 / R-WAR-2 / R-WAR-8, per line of `order`, for a performance fault ("other"). A gift is
    claimed through the item it came with, as `services.file_claim` refuses a gift's own claim."""
    settings = knobs()
    unit_days = dict(
        Claim.objects.filter(order_line__order=order, unit__isnull=False, shipped_back_at__isnull=False)
        .values("unit")
        .annotate(days=Sum("repair_days"))
        .values_list("unit", "days")
    )
    rows = []
    lines = order.lines.select_related("product__brand").prefetch_related("units").order_by("line_no")
    for line in lines:
        verdict = claim_verdict(line, policy.Fault.OTHER)
        if line.gift_of_id is not None:
            verdict = policy.ClaimVerdict(
                coverage=verdict.coverage,
                day=verdict.day,
                refusal=policy.Refusal("R-WAR-1", _("A gift is covered through the item it came with.")),
            )
        units = [
            UnitCoverage(
                unit=unit,
                coverage=policy.coverage(
                    signed_for_at=order.signed_for_at,
                    warranty_months=warranty_months(line),
                    repair_days=unit_days.get(unit.pk, 0),
                    knobs=settings,
                ),
            )
            for unit in line.units.all()
        ]
        rows.append(LineCoverage(line=line, coverage=verdict.coverage, units=units, verdict=verdict))
    return rows


def customer_line(customer, line_id: int) -> OrderLine | None:
    """One of the customer's own order lines, or None (another customer's line is not found either)."""
    return OrderLine.objects.select_related("order", "product").filter(pk=line_id, order__customer=customer).first()


def warranty_cases_visible_to(user) -> QuerySet[Case]:
    """Warranty cases `user` may see (their own, or any for case staff); anything else is not found."""
    return cases_visible_to(user).filter(kind=CaseKind.WARRANTY, warranty_claim__isnull=False)


def claim_detail(case: Case) -> Claim:
    """The claim of `case` with everything its detail page shows."""
    return (
        Claim.objects.select_related(
            "case__order", "order_line__product", "order_line__order", "centre", "unit", "handed_over_to"
        )
        .prefetch_related("parts")
        .get(case_id=case.pk)
    )


def storefront_line(*, storefront, order_number: str, line_no: int) -> OrderLine | None:
    """A line of one of the storefront's own orders (orders it pushed); None for anything else."""
    return (
        OrderLine.objects.filter(order__number=order_number, order__storefront=storefront, line_no=line_no)
        .select_related("order")
        .first()
    )


# The claim steps (named as `warranty.services` names them) and the workflow transitions each takes.
STEP_TRANSITIONS = {
    "accept": ("accept",),
    "book_visit": ("book_visit",),
    "reject": ("reject",),
    "cancel": ("cancel",),
    "receive": ("receive",),
    "start_diagnosis": ("start_diagnosis",),
    "diagnose": ("diagnose_covered", "diagnose_excluded", "diagnose_irreparable"),
    "accept_quote": ("accept_quote",),
    "decline_quote": ("decline_quote",),
    "appeal": ("appeal",),
    "decide_appeal": ("overturn", "uphold"),
    "add_part": ("repaired",),
    "repaired": ("repaired",),
    "fail_quality_check": ("fail_quality_check",),
    "ship_back": ("ship_back",),
    "ship_back_unrepaired": ("ship_back_unrepaired",),
    "confirm_receipt": ("confirm_receipt",),
    "take_replacement": ("take_replacement",),
}


def available_steps(user, claim: Claim) -> list[str]:
    """The steps `user` may take on `claim` now (the services' names), for buttons and the API: the
    workflow's permission and status, plus what each step's service also requires (an offered quote,
    no earlier appeal, an offered replacement, a paid repair paid before it ships back)."""
    case = claim.case
    flow = case_workflow.get(case.kind)

    def may(name: str) -> bool:
        t = flow.transitions[name]
        if case.status not in t.sources:
            return False
        try:
            case_services.check_allowed(case=case, transition=t, actor=user)
        except NotAllowed:
            return False
        return True

    unpaid = claim.amount_due > 0 and claim.amount_due_paid_at is None
    extra = {
        "accept_quote": bool(claim.quote_amount),
        "appeal": claim.appealed_at is None,
        "take_replacement": claim.replacement_offered_at is not None,
        "ship_back": not unpaid,
    }
    steps = [name for name, names in STEP_TRANSITIONS.items() if extra.get(name, True) and any(map(may, names))]
    if case.status == "awaiting_unit" and user.pk == case.customer_id:
        steps.append("enter_tracking")
    if unpaid and case.closed_at is None and user.has_perm("cases.change_case"):
        steps.append("record_payment")
    return steps
