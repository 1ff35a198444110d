"""The insight page's charts: for each, its title, its rows, its SVG and its table (the CSV file).

One list, so the page and the CSV download cannot disagree about a chart's numbers."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from aftersales.cases.models import CaseKind

from . import charts, selectors
from .selectors import Filters


def kind_labels() -> dict[str, str]:
    return {value: str(label) for value, label in CaseKind.choices} | {
        "return": str(CaseKind.RETURN.label),
        "warranty": str(CaseKind.WARRANTY.label),
        "ticket": str(CaseKind.TICKET.label),
    }


def _blank(value) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Chart:
    name: str
    title: Promise
    rows: Callable[[Filters], list]
    svg: Callable[[list, Filters], str]
    header: Callable[[], list]
    table: Callable[[list], list[list]]


CHARTS = [
    Chart(
        "volumes",
        _("Cases opened"),
        selectors.case_volumes,
        lambda rows, f: charts.volumes(rows, buckets=f.buckets(), kind_labels=kind_labels()),
        lambda: [_("Period starting"), _("Kind"), _("Cases")],
        lambda rows: [[f"{r.bucket:%Y-%m-%d}", r.kind, r.count] for r in rows],
    ),
    Chart(
        "reasons",
        _("Reasons"),
        selectors.case_reasons,
        lambda rows, f: charts.reasons(rows, kind_labels=kind_labels()),
        lambda: [_("Kind"), _("Reason"), _("Label"), _("Cases")],
        lambda rows: [[r.kind, r.reason, r.label, r.count] for r in rows],
    ),
    Chart(
        "return_rates",
        _("Return rate per product (top 15)"),
        selectors.return_rates,
        lambda rows, f: charts.return_rates(rows),
        lambda: [_("SKU"), _("Product"), _("Sold units"), _("Returned units"), _("Return rate")],
        lambda rows: [[r.sku, r.name, r.sold, r.returned, r.rate] for r in rows],
    ),
    Chart(
        "resolution",
        _("Time to resolution"),
        selectors.resolution_times,
        lambda rows, f: charts.resolution(rows, kind_labels=kind_labels()),
        lambda: [_("Kind"), _("Closed cases"), _("Median (hours)"), _("90th percentile (hours)")],
        lambda rows: [[r.kind, r.count, r.median_hours, r.p90_hours] for r in rows],
    ),
    Chart(
        "sla",
        _("Ticket first responses on time"),
        selectors.sla_compliance,
        lambda rows, f: charts.sla(rows),
        lambda: [_("Period starting"), _("On time"), _("Answered or breached"), _("On time (%)")],
        lambda rows: [[f"{r.bucket:%Y-%m-%d}", r.on_time, r.counted, _blank(r.percent)] for r in rows],
    ),
    Chart(
        "refunds",
        _("Refunds paid"),
        selectors.refund_totals,
        lambda rows, f: charts.refunds(rows),
        lambda: [_("By"), _("Key"), _("Label"), _("Refunds"), _("Total")],
        lambda rows: [[r.by, r.key, r.label, r.count, r.total] for r in rows],
    ),
    Chart(
        "price_protection",
        _("Price-protection compensation"),
        selectors.price_protection_totals,
        lambda rows, f: charts.price_protection(rows),
        lambda: [_("Paid as"), _("Label"), _("Claims"), _("Compensated"), _("Taken back"), _("Net")],
        lambda rows: [[r.destination, r.label, r.count, r.compensated, r.revoked, r.net] for r in rows],
    ),
    Chart(
        "satisfaction",
        _("Satisfaction"),
        selectors.satisfaction_trend,
        lambda rows, f: charts.satisfaction(rows),
        lambda: [_("Period starting"), _("Ratings"), _("Average rating")],
        lambda rows: [[f"{r.bucket:%Y-%m-%d}", r.count, _blank(r.average)] for r in rows],
    ),
    Chart(
        "feedback_reasons",
        _("Lowest-rated reasons"),
        selectors.lowest_rated_reasons,
        lambda rows, f: charts.feedback_reasons(rows),
        lambda: [_("Reason"), _("Label"), _("Ratings"), _("Average rating")],
        lambda rows: [[r.reason, r.label, r.count, r.average] for r in rows],
    ),
]
BY_NAME = {chart.name: chart for chart in CHARTS}
SVG_CACHE_SECONDS = 24 * 3600


def chart_svg(chart: Chart, rows: list, filters: Filters) -> str:
    """The chart's SVG, drawn once per distinct rows, filters and language, then taken from the cache:
    matplotlib needs 50–200 ms a chart, and most views of the page show rows already drawn. The key is
    a digest of everything the drawing reads, so a changed figure is never served from an old drawing."""
    what = repr((chart.name, get_language(), filters, rows)).encode()
    key = f"insight-svg:{hashlib.sha256(what).hexdigest()}"
    svg = cache.get(key)
    if svg is None:
        svg = chart.svg(rows, filters)
        cache.set(key, svg, SVG_CACHE_SECONDS)
    return svg
