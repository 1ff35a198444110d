"""Server-drawn SVG charts of the insight rows (matplotlib, Agg; no JavaScript, nothing from a CDN).

Each function takes a selector's rows and returns an SVG string to embed inline. Text stays text
(`svg.fonttype: none`), so the reader's browser draws Chinese product names with its own fonts; the
sizes are measured with the fallback list below. Labels are escaped for mathtext (`$`), matplotlib's
SVG writer escapes them for XML, and `clean` drops anything that is not the <svg> element itself.
"""

import contextlib
import io
import re
import warnings
from datetime import date
from pathlib import Path

import matplotlib
from django.utils.translation import gettext as _
from matplotlib import font_manager
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .selectors import (
    CompensationRow,
    FeedbackReasonRow,
    ReasonRow,
    RefundRow,
    ResolutionRow,
    ReturnRateRow,
    SatisfactionRow,
    SlaRow,
    VolumeRow,
)

matplotlib.use("Agg")  # no display; figures are drawn off-screen and saved as SVG

FONTS = ["DejaVu Sans", "WenQuanYi Zen Hei", "Noto Sans CJK SC"]
# Matplotlib falls back glyph by glyph only across the fonts named in font.family, never within the
# generic "sans-serif" (which resolves to its first installed font): with "sans-serif" alone, Chinese
# labels were measured in DejaVu Sans (which has no CJK glyphs) and drawn wider than the room made for
# them, so the browser cut them off. Only installed fonts are named (a missing one logs a warning each
# time a text is measured); the SVG still lists them all for the reader's browser, through sans-serif.


def _add_fonts_installed_since_the_cache() -> None:
    """matplotlib keeps its font list from its first run; a CJK font installed since (Debian's comes with
    the browser of the end-to-end tests) would be unknown to it, and Chinese labels measured too narrow."""
    known = {font.fname for font in font_manager.fontManager.ttflist}
    added = False
    for path in font_manager.findSystemFonts():
        if path not in known:
            with contextlib.suppress(OSError, ValueError, RuntimeError):  # a file matplotlib cannot read
                font_manager.fontManager.addfont(path)
                added = True
    if added:  # saved, so the next process starts with them (reading every font took seconds a process)
        cache = Path(matplotlib.get_cachedir()) / f"fontlist-v{font_manager.FontManager.__version__}.json"
        with contextlib.suppress(OSError):
            font_manager.json_dump(font_manager.fontManager, cache)


if not {font.name for font in font_manager.fontManager.ttflist} & set(FONTS[1:]):
    _add_fonts_installed_since_the_cache()
_INSTALLED = {font.name for font in font_manager.fontManager.ttflist}
STYLE = {
    "svg.fonttype": "none",
    "font.family": [*(name for name in FONTS if name in _INSTALLED), "sans-serif"],
    "font.sans-serif": FONTS,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_HANDLERS = re.compile(r"\son[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*')", re.IGNORECASE)


def label(text) -> str:
    """A label as matplotlib draws it literally: `$` would start mathtext."""
    return str(text).replace("\\", "\\\\").replace("$", r"\$")


def clean(svg: str) -> str:
    """The <svg> element only (no XML declaration or doctype, which cannot sit inside HTML), with any
    script element or event handler attribute removed — matplotlib writes none, this is belt and braces."""
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else ""
    return _HANDLERS.sub("", _SCRIPT.sub("", svg))


def labelled(svg: str, element_id: str) -> str:
    """The chart as one image named by the element `element_id` (its heading on the page), for screen
    readers: role="img" and aria-labelledby on the <svg> element."""
    if not svg.startswith("<svg"):
        return svg
    return f'<svg role="img" aria-labelledby="{element_id}"{svg[len("<svg") :]}'


def _render(name: str, draw, *, height: float = 3.2, png: bool = False) -> str | bytes:
    """The figure as SVG text for the page, or as PNG bytes for an e-mail (mail programs show no SVG)."""
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": name}), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing glyphs of a font that is not installed
        figure = Figure(figsize=(8, height), layout="constrained")
        draw(figure)
        if png:
            out = io.BytesIO()
            figure.savefig(out, format="png", dpi=100, metadata={"Software": None})
            return out.getvalue()
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    return clean(out.getvalue())


def _empty(axes) -> None:
    axes.text(0.5, 0.5, label(_("No data in this period")), ha="center", va="center", transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])


def _day(day: date) -> str:
    return f"{day:%m-%d}"


def _columns(axes, heights: list, *, bottom: list | None = None, color: str, name: str = "", width: float = 0.8):
    """Vertical bars at 0, 1, 2 … as one collection: what `axes.bar` draws, without an artist and a
    transform per bar (a year of weekly stacked bars is hundreds of them, and each costs)."""
    bottom = bottom or [0] * len(heights)
    half = width / 2
    shapes = [
        [(x - half, low), (x - half, low + height), (x + half, low + height), (x + half, low)]
        for x, (low, height) in enumerate(zip(bottom, heights, strict=True))
    ]
    bars = PolyCollection(shapes, facecolors=color, edgecolors="none", linewidths=0, label=name)
    bars.sticky_edges.y.append(0)  # as bars do: the axis starts at 0, not a margin below it
    axes.add_collection(bars)
    axes.autoscale_view()
    return bars


def volumes(
    rows: list[VolumeRow], *, buckets: list[date], kind_labels: dict[str, str], png: bool = False
) -> str | bytes:
    def draw(figure):
        axes = figure.subplots()
        if not rows:
            return _empty(axes)
        counts = {(row.bucket, row.kind): row.count for row in rows}
        positions = range(len(buckets))
        bottom = [0] * len(buckets)
        for index, kind in enumerate(dict.fromkeys(row.kind for row in rows)):
            heights = [counts.get((b, kind), 0) for b in buckets]
            _columns(axes, heights, bottom=bottom, color=f"C{index}", name=label(kind_labels.get(kind, kind)))
            bottom = [a + b for a, b in zip(bottom, heights, strict=True)]
        step = max(1, len(buckets) // 12)
        axes.set_xticks(list(positions)[::step], [_day(b) for b in buckets][::step])
        axes.set_ylabel(label(_("Cases opened")))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend(loc="upper left", fontsize=8)

    return _render("volumes", draw, png=png)


def _barh(name: str, labels: list[str], values: list, *, xlabel: str, fmt: str = "{}") -> str:
    def draw(figure):
        axes = figure.subplots()
        if not values:
            return _empty(axes)
        positions = range(len(values))
        bars = axes.barh(positions, [float(v) for v in values])
        axes.set_yticks(list(positions), [label(text) for text in labels])
        axes.invert_yaxis()
        axes.bar_label(bars, labels=[label(fmt.format(v)) for v in values], padding=2, fontsize=8)
        axes.set_xlabel(label(xlabel))
        if all(isinstance(v, int) for v in values):
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))

    return _render(name, draw, height=max(2.4, 0.6 + 0.28 * len(values)))


def reasons(rows: list[ReasonRow], *, kind_labels: dict[str, str]) -> str:
    return _barh(
        "reasons",
        [f"{kind_labels.get(row.kind, row.kind)} · {row.label}" for row in rows],
        [row.count for row in rows],
        xlabel=_("Cases opened"),
    )


def return_rates(rows: list[ReturnRateRow]) -> str:
    return _barh(
        "return_rates",
        [f"{row.name} ({row.sku})" for row in rows],
        [row.rate * 100 for row in rows],
        xlabel=_("Returned units ÷ sold units (%)"),
        fmt="{:.1f}%",
    )


def resolution(rows: list[ResolutionRow], *, kind_labels: dict[str, str]) -> str:
    def draw(figure):
        axes = figure.subplots()
        if not rows:
            return _empty(axes)
        positions = range(len(rows))
        width = 0.4
        median = axes.bar([p - width / 2 for p in positions], [float(r.median_hours) for r in rows], width)
        p90 = axes.bar([p + width / 2 for p in positions], [float(r.p90_hours) for r in rows], width)
        median.set_label(label(_("Median")))
        p90.set_label(label(_("90th percentile")))
        axes.set_xticks(list(positions), [label(kind_labels.get(r.kind, r.kind)) for r in rows])
        axes.set_ylabel(label(_("Hours")))
        axes.legend(fontsize=8)

    return _render("resolution", draw)


def _trend(name: str, buckets: list[date], values: list, counts: list[int], *, ylabel: str, ylim) -> str:
    def draw(figure):
        axes = figure.subplots()
        if not any(counts):
            return _empty(axes)
        positions = range(len(buckets))
        _columns(axes, counts, color="#dddddd", name=label(_("Count")))
        axes.set_ylabel(label(_("Count")))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        line = axes.twinx()
        line.plot(positions, [None if v is None else float(v) for v in values], marker="o", color="#417690")
        line.set_ylim(*ylim)
        line.set_ylabel(label(ylabel))
        step = max(1, len(buckets) // 12)
        axes.set_xticks(list(positions)[::step], [_day(b) for b in buckets][::step])

    return _render(name, draw)


def sla(rows: list[SlaRow]) -> str:
    return _trend(
        "sla",
        [row.bucket for row in rows],
        [row.percent for row in rows],
        [row.counted for row in rows],
        ylabel=_("First response on time (%)"),
        ylim=(0, 105),
    )


def satisfaction(rows: list[SatisfactionRow]) -> str:
    return _trend(
        "satisfaction",
        [row.bucket for row in rows],
        [row.average for row in rows],
        [row.count for row in rows],
        ylabel=_("Average rating (1–5)"),
        ylim=(0, 5.2),
    )


def refunds(rows: list[RefundRow]) -> str:
    def draw(figure):
        left, right = figure.subplots(1, 2)
        for axes, by, title in ((left, "source", _("By source")), (right, "destination", _("By destination"))):
            part = [row for row in rows if row.by == by]
            axes.set_title(label(title))
            if not part:
                _empty(axes)
                continue
            positions = range(len(part))
            bars = axes.barh(positions, [float(row.total) for row in part])
            axes.set_yticks(list(positions), [label(row.label) for row in part])
            axes.invert_yaxis()
            axes.bar_label(bars, labels=[label(f"{row.total:,}") for row in part], padding=2, fontsize=8)

    return _render("refunds", draw)


def price_protection(rows: list[CompensationRow]) -> str:
    return _barh(
        "price_protection",
        [row.label for row in rows],
        [row.net for row in rows],
        xlabel=_("Compensation, net of what was taken back"),
        fmt="{:,}",
    )


def feedback_reasons(rows: list[FeedbackReasonRow]) -> str:
    return _barh(
        "feedback_reasons",
        [f"{row.label} ({row.count})" for row in rows],
        [row.average for row in rows],
        xlabel=_("Average rating (1–5)"),
    )
