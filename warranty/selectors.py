"""Reads the warranty API, portal, dashboard and services share: the facts `warranty.policy` judges."""

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.cases import services as case_services
from aftersales.cases import workflow as case_workflow
from aftersales.cases.calendar import working_days_map
from aftersales.cases.models import Case, CaseKind
from aftersales.cases.selectors import cases_visible_to
from aftersales.common.errors import NotAllowed
from aftersales.orders.models import OrderLine

from . import policy
from .models import Accessory, CentreClosure, Claim, ServiceCentre, Unit, WarrantySettings
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


def unit_claims(line: OrderLine, unit: Unit | None = None) -> QuerySet[Claim]:
    """The claims on this unit of `line` (`_same_unit`), including those of a unit it replaced."""
    return Claim.objects.filter(_same_unit(line, unit))


def current_unit_claims(line: OrderLine, unit: Unit | None = None) -> QuerySet[Claim]:
    """The claims on the unit the customer has now: after a replacement the warranty app granted
    (`Claim.replaced_by`), the new unit starts its own repair history (R-WAR-9)."""
    return unit_claims(line, unit).filter(replaced_by__isnull=True)


def repair_days(line: OrderLine, unit: Unit | None = None) -> int:
    """R-WAR-8: days the unit has already spent in (covered) repairs. A replacement keeps them: they
    extend the purchase's warranty, which a replacement continues (it does not restart it)."""
    return (
        Claim.objects.filter(_same_unit(line, unit), shipped_back_at__isnull=False).aggregate(days=Sum("repair_days"))[
            "days"
        ]
        or 0
    )


def repairs_of_fault(line: OrderLine, fault: str, unit: Unit | None = None) -> int:
    """R-WAR-9: completed free repairs of this fault on this unit: on the unit the customer has now,
    so a replacement starts at zero (repairs of the unit it replaced do not count)."""
    return (
        current_unit_claims(line, unit)
        .filter(fault=fault, diagnosis=policy.Diagnosis.COVERED, shipped_back_at__isnull=False)
        .count()
    )


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


def claim_verdicts(line: OrderLine, unit: Unit | None = None, *, now: datetime | None = None):
    """{fault: `claim_verdict`} for every fault. Only a fault already repaired on this unit can judge
    differently (R-WAR-9), so those are judged one by one and every other fault shares one verdict."""
    now = now or timezone.now()
    repaired = set(
        current_unit_claims(line, unit)
        .filter(diagnosis=policy.Diagnosis.COVERED, shipped_back_at__isnull=False)
        .values_list("fault", flat=True)
    )
    judged = {fault: claim_verdict(line, fault, unit, now=now) for fault in repaired}
    fresh = next((f for f in policy.Fault.values if f not in repaired), None)
    first_time = claim_verdict(line, fresh, unit, now=now) if fresh is not None else None
    return {fault: judged.get(fault, first_time) for fault in policy.Fault.values}


@dataclass(frozen=True)
class AccessoryOffer:
    """R-WAR-6: an accessory of the line's category and what asking for it costs today."""

    accessory: Accessory
    price: Decimal
    reason: str


def accessories_by_category(category_ids: Iterable[int]) -> dict[int, list[Accessory]]:
    """{category id: the accessories sold for it, by name}, in one query."""
    found: dict[int, list[Accessory]] = defaultdict(list)
    for accessory in Accessory.objects.filter(category_id__in=set(category_ids), active=True).order_by("name", "pk"):
        found[accessory.category_id].append(accessory)
    return found


def line_accessories(line: OrderLine) -> QuerySet[Accessory]:
    """The accessories the shop sells for the line's product (its category's, R-WAR-6)."""
    return Accessory.objects.filter(category_id=line.product.category_id, active=True).order_by("name", "pk")


def accessory_offers(
    accessories: Iterable[Accessory], coverage: policy.Coverage | None, *, now: datetime | None = None
) -> list[AccessoryOffer]:
    """R-WAR-6: each accessory at the price a request would cost now, for a unit with `coverage`."""
    now = now or timezone.now()
    covered = coverage is not None and coverage.covers(now)
    offers = []
    for accessory in accessories:
        facts = {"price": accessory.price, "wearing_part": accessory.wearing_part, "covered": covered}
        offers.append(
            AccessoryOffer(
                accessory=accessory,
                price=policy.accessory_price(**facts),
                reason=policy.accessory_price_reason(**facts),
            )
        )
    return offers


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
    return centres_business_days({None: (centre.pk if centre else None, start, end)})[None]


def centres_business_days(spans: Mapping[Hashable, tuple[int | None, date, date]]) -> dict[Hashable, int]:
    """`centre_business_days` for many spans at once, {key: (centre id or None, start, end)}: one
    calendar query and one closures query whatever the number of spans (the repair board's rows)."""
    live = {key: span for key, span in spans.items() if span[2] > span[1]}
    result = dict.fromkeys(spans, 0)
    if not live:
        return result
    first = min(start for _, start, _ in live.values()) + timedelta(days=1)
    last = max(end for _, _, end in live.values())
    working = working_days_map(first, last)
    # Working days in [first, day], for a count over any (start, end] in O(1).
    upto, count = {first - timedelta(days=1): 0}, 0
    for day in sorted(working):
        count += working[day]
        upto[day] = count
    closed: dict[int, list[date]] = defaultdict(list)
    centre_ids = {centre_id for centre_id, _, _ in live.values() if centre_id is not None}
    if centre_ids:
        closures = CentreClosure.objects.filter(centre_id__in=centre_ids, date__gte=first, date__lte=last)
        for centre_id, day in closures.values_list("centre_id", "date"):
            if working[day]:  # a centre closed on a shop holiday loses nothing more
                closed[centre_id].append(day)
    for key, (centre_id, start, end) in live.items():
        days = upto[end] - upto[start]
        days -= sum(1 for day in closed.get(centre_id, ()) if start < day <= end)
        result[key] = max(days, 0)
    return result


# --- Turnaround: business days from the unit's arrival to shipping it back ------------------------------

# The unit is with us and the next move is ours: the statuses whose days count against the turnaround
# target. An exclusion waiting for the customer's answer to the quote is theirs, not ours.
TURNAROUND_WATCHED = IN_WORKSHOP | {"appealed", "returning"}


def turnaround_target() -> int:
    return WarrantySettings.current().turnaround_business_days


def turnaround_end(claim: Claim, today: date) -> date:
    """The clock stops when the unit leaves (or the case ends without it leaving, e.g. handed over)."""
    if claim.shipped_back_at is not None:
        return timezone.localdate(claim.shipped_back_at)
    if claim.case.closed_at is not None:
        return timezone.localdate(claim.case.closed_at)
    return today


def turnarounds(claims: Iterable[Claim], *, today: date | None = None) -> dict[int, int]:
    """{claim pk: business days its unit has been with us} for the received ones (the case selected
    along), less their centres' closed days, in two queries."""
    today = today or timezone.localdate()
    return centres_business_days(
        {
            claim.pk: (claim.centre_id, timezone.localdate(claim.received_at), turnaround_end(claim, today))
            for claim in claims
            if claim.received_at is not None
        }
    )


def is_overdue(claim: Claim, days: int | None, target: int) -> bool:
    return (
        days is not None and days > target and claim.shipped_back_at is None and claim.case.status in TURNAROUND_WATCHED
    )


def overdue_threshold(target: int, today: date) -> datetime | None:
    """The start of the (target + 1)-th latest business day up to today on the shop's calendar: a unit
    received before it has been with us more than `target` business days (None: no such day)."""
    horizon = target * 2 + 30
    while horizon <= 3660:
        days = working_days_map(today - timedelta(days=horizon), today)
        working = sorted((day for day, is_working in days.items() if is_working), reverse=True)
        if len(working) > target:
            return timezone.make_aware(datetime.combine(working[target], time.min))
        horizon *= 2
    return None


def overdue_ids(claims: QuerySet[Claim], *, today: date | None = None) -> list[int]:
    """The claims of `claims` past the turnaround target now.

    The database narrows by a received_at threshold on the shop's calendar; a centre's own closed
    days can only lower the count, so that is a superset, and the exact count (`turnarounds`) then
    decides for those few candidates: the board's overdue filter and its overdue flag always agree."""
    today = today or timezone.localdate()
    target = turnaround_target()
    threshold = overdue_threshold(target, today)
    if threshold is None:
        return []
    candidates = claims.filter(
        case__status__in=TURNAROUND_WATCHED, shipped_back_at__isnull=True, received_at__lt=threshold
    ).values_list("pk", "centre_id", "received_at")
    days = centres_business_days(
        {pk: (centre_id, timezone.localdate(received_at), today) for pk, centre_id, received_at in candidates}
    )
    return [pk for pk, count in days.items() if count > target]


# --- What the API and the portal show -----------------------------------------------------------------


@dataclass(frozen=True)
class UnitCoverage:
    """A registered unit and its own coverage: R-WAR-8 extends a unit by its own days in repair."""

    unit: Unit
    coverage: policy.Coverage | None


@dataclass(frozen=True)
class LineCoverage:
    """A line's warranty as the customer sees it: coverage (None before sign-for) for a unit claimed
    without a serial number, and each registered unit's own; with `remedies`, what a performance fault
    opens today (or why none is open) and the accessories a claim may ask for at today's price."""

    line: OrderLine
    coverage: policy.Coverage | None
    units: list[UnitCoverage]
    verdict: policy.ClaimVerdict | None = None
    accessories: tuple[AccessoryOffer, ...] = ()


def order_lines(order) -> QuerySet[OrderLine]:
    """An order's lines as `line_coverages` reads them."""
    return (
        order.lines.select_related("product__brand", "product__category").prefetch_related("units").order_by("line_no")
    )


def line_coverages(
    lines: Sequence[OrderLine],
    *,
    remedies: bool = False,
    settings: policy.Knobs | None = None,
    now: datetime | None = None,
) -> list[LineCoverage]:
    """R-WAR-1 / R-WAR-8 for a page of lines (units prefetched): `line_coverage` for each line and each
    of its registered units, the days in repair summed in one query as `_same_unit` groups claims (the
    portal's products page, the API's order coverage); with `remedies`, the repairs of a fault likewise.

    With `remedies`, also R-WAR-2 / R-WAR-9 for a performance fault ("other"), a gift refused as
    `services.file_claim` refuses its own claim, and R-WAR-6: the accessories a claim may ask for
    (none for a gift or before sign-for), each at today's price."""
    settings = settings or knobs()
    now = now or timezone.now()
    shipped: dict[int, list[tuple[int | None, int]]] = defaultdict(list)
    for line_id, unit_id, days in Claim.objects.filter(
        order_line__in=[line.pk for line in lines], shipped_back_at__isnull=False
    ).values_list("order_line_id", "unit_id", "repair_days"):
        shipped[line_id].append((unit_id, days))

    def days_in_repair(line: OrderLine, unit_id: int | None) -> int:
        return sum(d for u, d in shipped.get(line.pk, ()) if line.quantity == 1 or u == unit_id)

    # R-WAR-9 for the remedies: `repairs_of_fault(line, "other")` of every line, in one query.
    repaired: dict[int, list[int | None]] = defaultdict(list)
    if remedies:
        for line_id, unit_id in Claim.objects.filter(
            order_line__in=[line.pk for line in lines],
            replaced_by__isnull=True,
            fault=policy.Fault.OTHER,
            diagnosis=policy.Diagnosis.COVERED,
            shipped_back_at__isnull=False,
        ).values_list("order_line_id", "unit_id"):
            repaired[line_id].append(unit_id)

    def repairs_of_other_fault(line: OrderLine) -> int:
        return sum(1 for u in repaired.get(line.pk, ()) if line.quantity == 1 or u is None)

    def cover(line: OrderLine, unit_id: int | None) -> policy.Coverage | None:
        return policy.coverage(
            signed_for_at=line.order.signed_for_at,
            warranty_months=warranty_months(line),
            repair_days=days_in_repair(line, unit_id),
            knobs=settings,
        )

    accessories = accessories_by_category(line.product.category_id for line in lines) if remedies else {}
    rows = []
    for line in lines:
        coverage = cover(line, None)
        row = LineCoverage(
            line=line,
            coverage=coverage,
            units=[UnitCoverage(unit=unit, coverage=cover(line, unit.pk)) for unit in line.units.all()],
        )
        if remedies:
            verdict = policy.claim_verdict(
                signed_for_at=line.order.signed_for_at,
                now=now,
                warranty_months=warranty_months(line),
                repair_days=days_in_repair(line, None),
                repairs_of_fault=repairs_of_other_fault(line),
                knobs=settings,
            )
            offers = []
            if line.gift_of_id is not None:
                verdict = policy.ClaimVerdict(
                    coverage=verdict.coverage,
                    day=verdict.day,
                    refusal=policy.Refusal("R-WAR-1", _("A gift is covered through the item it came with.")),
                )
            elif coverage is not None:
                offers = accessory_offers(accessories.get(line.product.category_id, ()), coverage, now=now)
            row = replace(row, verdict=verdict, accessories=tuple(offers))
        rows.append(row)
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
            "case__order", "order_line__product", "order_line__order", "centre", "unit", "handed_over_to", "accessory"
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
    "ship_accessory": ("ship_accessory",),
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
        "ship_accessory": not unpaid,
        # R-WAR-5: accepted the way the customer asked to be served.
        "accept": claim.mode != policy.ServiceMode.ON_SITE,
        "book_visit": claim.mode == policy.ServiceMode.ON_SITE,
    }
    steps = [name for name, names in STEP_TRANSITIONS.items() if extra.get(name, True) and any(map(may, names))]
    if case.status == "awaiting_unit" and user.pk == case.customer_id:
        steps.append("enter_tracking")
    if unpaid and case.closed_at is None and user.has_perm("cases.change_case"):
        steps.append("record_payment")
    return steps
