"""The insight figures (R-FB-2): aggregate reads over a period, one or two queries each, never one per case.

A period is [start, end) in shop dates (the current time zone, `settings.TIME_ZONE`). Each function takes
`Filters` and returns plain rows (dataclasses) with `Decimal` money, which the charts and the CSV files share.

The core never imports a feature app (ARCHITECTURE.md); the feature apps' detail rows (return lines,
warranty claims, tickets, price-protection claims) are reached by `apps.get_model`, read-only and by name,
so the dependency stays a lookup at query time rather than an import.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.apps import apps
from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Q, QuerySet, Sum
from django.db.models.functions import Cast, Extract, TruncDate
from django.utils import timezone

from aftersales.cases.models import Case, CaseKind, Feedback, FeedbackReason
from aftersales.finance.models import Refund
from aftersales.orders.models import Brand, Category, OrderLine, Product

from . import rollup

CENT = Decimal("0.01")
TOP_PRODUCTS = 15
# Up to this many days a bucket is a day; longer periods count by week (Monday to Sunday).
DAILY_UP_TO_DAYS = 31
# Return requests that ended without the goods coming back (mirrors returns.selectors.RELEASED_STATUSES).
RELEASED_RETURN_STATUSES = ("rejected", "cancelled", "expired", "inspection_failed", "sent_back")


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # exclusive
    category: Category | None = None
    product: Product | None = None
    brand: Brand | None = None
    kind: str = ""

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        tz = timezone.get_current_timezone()
        return datetime.combine(self.start, time.min, tz), datetime.combine(self.end, time.min, tz)

    @property
    def weekly(self) -> bool:
        return (self.end - self.start).days > DAILY_UP_TO_DAYS

    @property
    def by_product(self) -> bool:
        return bool(self.category or self.product or self.brand)

    def bucket(self, day: date) -> date:
        return day - timedelta(days=day.weekday()) if self.weekly else day

    def buckets(self) -> list[date]:
        """Every bucket of the period in order, so a chart shows the empty days too."""
        first, out = self.bucket(self.start), []
        step = timedelta(days=7 if self.weekly else 1)
        while first < self.end:
            out.append(first)
            first += step
        return out


# --- Rows -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VolumeRow:
    bucket: date
    kind: str
    count: int


@dataclass(frozen=True)
class ReasonRow:
    kind: str  # "return" (the request's reason), "warranty" (the fault) or "ticket" (the category)
    reason: str
    label: str
    count: int


@dataclass(frozen=True)
class ReturnRateRow:
    product_id: int
    sku: str
    name: str
    sold: int
    returned: int
    rate: Decimal  # returned ÷ sold, 4 places


@dataclass(frozen=True)
class ResolutionRow:
    kind: str
    count: int
    median_hours: Decimal
    p90_hours: Decimal


@dataclass(frozen=True)
class SlaRow:
    bucket: date
    on_time: int
    counted: int  # answered, or breached before any answer

    @property
    def percent(self) -> Decimal | None:
        return None if not self.counted else (Decimal(100 * self.on_time) / self.counted).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class RefundRow:
    by: str  # "source" or "destination"
    key: str
    label: str
    count: int
    total: Decimal


@dataclass(frozen=True)
class CompensationRow:
    destination: str
    label: str
    count: int
    compensated: Decimal
    revoked: Decimal

    @property
    def net(self) -> Decimal:
        return self.compensated - self.revoked


@dataclass(frozen=True)
class SatisfactionRow:
    bucket: date
    count: int
    rating_sum: int

    @property
    def average(self) -> Decimal | None:
        return None if not self.count else (Decimal(self.rating_sum) / self.count).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class FeedbackReasonRow:
    reason: str
    label: str
    count: int
    average: Decimal


# --- Scoping --------------------------------------------------------------------------------------------


def products(filters: Filters) -> QuerySet:
    """The products the filters select (a category includes its sub-categories)."""
    qs = Product.objects.all()
    if filters.product:
        qs = qs.filter(pk=filters.product.pk)
    if filters.brand:
        qs = qs.filter(brand=filters.brand)
    if filters.category:
        qs = qs.filter(category__in=category_and_descendants(filters.category))
    return qs


def category_and_descendants(category: Category) -> list[int]:
    children = defaultdict(list)
    for pk, parent in Category.objects.values_list("pk", "parent_id"):
        children[parent].append(pk)
    found, todo = [], [category.pk]
    while todo:
        pk = todo.pop()
        found.append(pk)
        todo.extend(children[pk])
    return found


def cases(filters: Filters) -> QuerySet:
    """Cases of the filters' kind that concern one of the filters' products (any period).

    A case concerns a product through its return lines, its warranty claim's line, its ticket's product
    or its price-protection claim's lines; a product filter leaves out cases with none of these."""
    qs = Case.objects.all()
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.by_product:
        chosen = products(filters).values("pk")
        # The chosen products' order lines first (an index-only scan of (product, id)), then the detail rows
        # on them, as one list of case ids (UNION ALL) looked up by key: four IN tests OR-ed read every case.
        lines = OrderLine.objects.filter(product__in=chosen).values("pk")
        ids = (
            _model("returns", "ReturnLine")
            .objects.filter(order_line__in=lines)
            .values("request_id")
            .order_by()  # SQLite allows no ORDER BY (the models' default ordering) in a UNION's parts
            .union(
                _model("warranty", "Claim").objects.filter(order_line__in=lines).values("case_id").order_by(),
                _model("techsupport", "Ticket").objects.filter(product__in=chosen).values("case_id").order_by(),
                _model("priceprotect", "ClaimLine").objects.filter(order_line__in=lines).values("claim_id").order_by(),
                all=True,
            )
        )
        qs = qs.filter(pk__in=ids)
    return qs


def _of_cases(qs: QuerySet, filters: Filters, field: str = "case") -> QuerySet:
    """Rows of another model narrowed to the filters' cases (through `field`): a join on the case's kind
    for a kind filter, the cases subquery only for a product filter, nothing at all without either."""
    if filters.by_product:
        return qs.filter(**{f"{field}__in": cases(filters).values("pk")})
    if filters.kind:
        return qs.filter(**{f"{field}__kind": filters.kind})
    return qs


def _model(app_label: str, name: str):
    return apps.get_model(app_label, name)


def _in_period(field: str, filters: Filters) -> Q:
    start, end = filters.bounds
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def _money(value) -> Decimal:
    """A database sum as money: SQLite hands back Decimal('200'), PostgreSQL Decimal('200.00')."""
    return Decimal(value or 0).quantize(CENT)


def _choices(model, field: str) -> dict[str, str]:
    return {value: str(label) for value, label in model._meta.get_field(field).choices}


# --- Figures --------------------------------------------------------------------------------------------


def case_volumes(filters: Filters) -> list[VolumeRow]:
    """Cases opened per bucket and kind (non-zero rows, by bucket then kind)."""
    rows = (
        cases(filters)
        .filter(_in_period("opened_at", filters))
        .annotate(day=TruncDate("opened_at"))
        .values_list("day", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[tuple[date, str], int] = defaultdict(int)
    for day, kind, n in rows:
        counts[(filters.bucket(day), kind)] += n
    return [VolumeRow(bucket=b, kind=k, count=n) for (b, k), n in sorted(counts.items())]


def case_reasons(filters: Filters) -> list[ReasonRow]:
    """Why cases opened in the period were opened: a return's reason, a warranty claim's fault, a
    ticket's category. Most frequent first within each kind."""
    sources = [
        ("return", _model("returns", "ReturnRequest"), "reason"),
        ("warranty", _model("warranty", "Claim"), "fault"),
        ("ticket", _model("techsupport", "Ticket"), "category"),
    ]
    out = []
    for kind, model, field in sources:
        labels = _choices(model, field)
        opened = _of_cases(model.objects.filter(_in_period("case__opened_at", filters)), filters)
        rows = opened.values_list(field).annotate(n=Count("pk")).order_by("-n", field)
        out += [ReasonRow(kind=kind, reason=value, label=labels.get(value, value), count=n) for value, n in rows]
    return out


def return_rates(filters: Filters, *, top: int = TOP_PRODUCTS) -> list[ReturnRateRow]:
    """Returned units ÷ sold units per product, highest first, for products sold in the period.

    Sold: the quantities of the lines of orders placed in the period and not cancelled. Returned: the
    units of return-and-refund requests opened in the period that did not end without the goods coming
    back (rejected, cancelled, expired, failed inspection, sent back) — the same "live" lines the duplicate
    guard counts. Exchanges, reissues and refund-only requests are not returns. The kind filter does not
    apply here."""
    chosen = products(filters)
    # Pre-aggregated per day by an hourly task, the same numbers as the order lines (see rollup).
    sold = rollup.units_sold(filters.start, filters.end, chosen if filters.by_product else None)
    # A request's primary key is its case's: the lines' request ids are the case ids, no join through requests.
    kept = (
        Case.objects.filter(_in_period("opened_at", filters), kind=CaseKind.RETURN)
        .exclude(status__in=RELEASED_RETURN_STATUSES)
        .values("pk")
    )
    lines = _model("returns", "ReturnLine").objects.filter(request_id__in=kept)
    if filters.by_product:
        lines = lines.filter(order_line__product__in=chosen.values("pk"))
    returned = dict(lines.values_list("order_line__product_id").annotate(units=Sum("quantity")).order_by())
    ranked = sorted(
        ((Decimal(returned.get(pk, 0)) / units, returned.get(pk, 0), pk) for pk, units in sold.items() if units),
        key=lambda item: (-item[0], -item[1], item[2]),
    )[:top]
    names = {
        pk: (sku, name)
        for pk, sku, name in Product.objects.filter(pk__in=[r[2] for r in ranked]).values_list("pk", "sku", "name")
    }
    return [
        ReturnRateRow(
            product_id=pk,
            sku=names[pk][0],
            name=names[pk][1],
            sold=sold[pk],
            returned=units,
            rate=rate.quantize(Decimal("0.0001")),
        )
        for rate, units, pk in ranked
    ]


def percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks — what PostgreSQL's `percentile_cont` computes."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class PercentileCont(Aggregate):
    """PostgreSQL's `percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)` over double precision."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def resolution_times(filters: Filters) -> list[ResolutionRow]:
    """Median and 90th percentile of closed_at − opened_at per kind, for cases closed in the period
    (whatever the outcome), both as `percentile_cont` computes them.

    On PostgreSQL the database computes them (one grouped query); elsewhere one query fetches the two
    timestamps and `percentile` computes the same figures. Both take the hours as a double,
    seconds ÷ 3600, and interpolate alike, so the two give the same numbers."""
    closed = cases(filters).filter(_in_period("closed_at", filters)).order_by()
    rows = _percentiles_in_sql(closed) if connection.vendor == "postgresql" else _percentiles_in_python(closed)
    hours = Decimal("0.1")
    return [
        ResolutionRow(
            kind=kind,
            count=n,
            median_hours=Decimal(str(median)).quantize(hours),
            p90_hours=Decimal(str(p90)).quantize(hours),
        )
        for kind, n, median, p90 in sorted(rows, key=lambda row: list(CaseKind.values).index(row[0]))
    ]


def _percentiles_in_sql(closed: QuerySet) -> list[tuple[str, int, float, float]]:
    hours = Cast(Extract(F("closed_at") - F("opened_at"), "epoch"), FloatField()) / 3600.0
    return list(
        closed.values_list("kind").annotate(
            n=Count("pk"), median=PercentileCont(hours, 0.5), p90=PercentileCont(hours, 0.9)
        )
    )


def _percentiles_in_python(closed: QuerySet) -> list[tuple[str, int, float, float]]:
    durations: dict[str, list[float]] = defaultdict(list)
    for kind, opened_at, closed_at in closed.values_list("kind", "opened_at", "closed_at"):
        durations[kind].append((closed_at - opened_at).total_seconds() / 3600)
    return [(kind, len(hours), percentile(hours, 0.5), percentile(hours, 0.9)) for kind, hours in durations.items()]


def sla_compliance(filters: Filters) -> list[SlaRow]:
    """First responses on time ÷ tickets answered or breached, per bucket of the ticket's opening — the
    SLA statistics page's definition (techsupport `sla_statistics`)."""
    answered = Q(first_responded_at__isnull=False)
    tickets = _model("techsupport", "Ticket").objects.filter(_in_period("case__opened_at", filters))
    rows = (
        _of_cases(tickets, filters)
        .annotate(day=TruncDate("case__opened_at"))
        .values_list("day")
        .annotate(
            on_time=Count("pk", filter=answered & Q(first_response_breached=False)),
            counted=Count("pk", filter=answered | Q(first_response_breached=True)),
        )
        .order_by()
    )
    on_time: dict[date, int] = defaultdict(int)
    counted: dict[date, int] = defaultdict(int)
    for day, ok, n in rows:
        on_time[filters.bucket(day)] += ok
        counted[filters.bucket(day)] += n
    return [SlaRow(bucket=b, on_time=on_time[b], counted=counted[b]) for b in filters.buckets()]


def refund_totals(filters: Filters) -> list[RefundRow]:
    """Paid (succeeded) refunds by source and by destination: count and the sum of their amounts, by
    the day they were paid. With a kind or product filter only refunds of matching cases count."""
    qs = _of_cases(Refund.objects.filter(_in_period("paid_at", filters), state=Refund.State.SUCCEEDED), filters)
    out = []
    for by, choices in (("source", Refund.Source), ("destination", Refund.Destination)):
        labels = dict(choices.choices)
        rows = qs.values_list(by).annotate(n=Count("pk"), total=Sum("amount")).order_by("-total", by)
        out += [
            RefundRow(by=by, key=key, label=str(labels.get(key, key)), count=n, total=_money(total))
            for key, n, total in rows
        ]
    return out


def price_protection_totals(filters: Filters) -> list[CompensationRow]:
    """Compensation of price-protection claims compensated in the period, per way it was paid.

    Read from the claims rather than from finance refunds of source price_protection: a claim paid as a
    coupon has no refund row, so only the claims see every yuan. `revoked` is what has been taken back
    since (a later return); `net` is what the shop is out."""
    claim = _model("priceprotect", "Claim")
    labels = _choices(claim, "destination")
    rows = (
        _of_cases(claim.objects.filter(_in_period("compensated_at", filters)), filters)
        .values_list("destination")
        .annotate(n=Count("pk"), compensated=Sum("amount"), revoked=Sum("revoked_amount"))
        .order_by("-compensated", "destination")
    )
    return [
        CompensationRow(destination=d, label=labels.get(d, d), count=n, compensated=_money(paid), revoked=_money(back))
        for d, n, paid, back in rows
    ]


def _feedback(filters: Filters) -> QuerySet:
    return _of_cases(Feedback.objects.filter(_in_period("created_at", filters)), filters)


def satisfaction_trend(filters: Filters) -> list[SatisfactionRow]:
    """Ratings given in the period per bucket: how many and their average (None where there are none)."""
    rows = (
        _feedback(filters)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(n=Count("pk"), total=Sum("rating"))
        .order_by()
    )
    count: dict[date, int] = defaultdict(int)
    total: dict[date, int] = defaultdict(int)
    for day, n, ratings in rows:
        count[filters.bucket(day)] += n
        total[filters.bucket(day)] += ratings
    return [SatisfactionRow(bucket=b, count=count[b], rating_sum=total[b]) for b in filters.buckets()]


def lowest_rated_reasons(filters: Filters) -> list[FeedbackReasonRow]:
    """What mattered most to customers who rated in the period, lowest average rating first."""
    labels = {value: str(label) for value, label in FeedbackReason.choices}
    rows = (
        _feedback(filters)
        .exclude(reason="")
        .values_list("reason")
        .annotate(n=Count("pk"), total=Sum("rating"))
        .order_by()
    )
    out = [
        FeedbackReasonRow(
            reason=reason,
            label=labels.get(reason, reason),
            count=n,
            average=(Decimal(total) / n).quantize(Decimal("0.01")),
        )
        for reason, n, total in rows
    ]
    return sorted(out, key=lambda row: (row.average, -row.count, row.reason))
