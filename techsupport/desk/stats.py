"""The SLA statistics page (R-SUP-3) and its CSV download: per agent and per team over a period,
figures from `selectors.sla_statistics`."""

import csv

from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import selectors
from ..models import SlaAlert
from .forms import StatsPeriodForm


def _percent(value) -> str:
    return "" if value is None else f"{value:.1f}"


def _minutes(value) -> str:
    return "" if value is None else str(value)


def header() -> list[str]:
    return [
        _("Group"),
        _("Name"),
        _("Opened"),
        _("Resolved"),
        _("First response on time (%)"),
        _("Resolution on time (%)"),
        _("Median first response (business minutes)"),
        *(str(label) for label in SlaAlert.Level.labels),
        _("Open now"),
        _("Breached now"),
    ]


def table(result: selectors.SlaStatistics) -> list[list]:
    """The rows of the page and of the CSV file: agents, then teams, then everyone."""
    grouped = [(_("Agent"), row) for row in result.agents] + [(_("Team"), row) for row in result.teams]
    grouped.append((_("All"), result.total))
    return [
        [
            group,
            row.label,
            row.opened,
            row.resolved,
            _percent(row.first_response_compliance),
            _percent(row.resolution_compliance),
            _minutes(row.median_first_response_minutes),
            *row.breaches_by_level,
            row.open_now,
            row.breached_now,
        ]
        for group, row in grouped
    ]


def stats_page(request, model_admin):
    form = StatsPeriodForm(request.GET if "start" in request.GET else None)
    period = form.cleaned_data if form.is_valid() else StatsPeriodForm.default_period()
    if not form.is_bound:
        form = StatsPeriodForm(initial=period)
    result = selectors.sla_statistics(start=period["start"], end=period["end"])
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"sla-{period['start']:%Y%m%d}-{period['end']:%Y%m%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response.write("\ufeff")  # so spreadsheet programs read the file as UTF-8
        writer = csv.writer(response)
        writer.writerow(header())
        writer.writerows(table(result))
        return response
    query = request.GET.copy()
    query.update({"start": f"{period['start']:%Y-%m-%d}", "end": f"{period['end']:%Y-%m-%d}"})
    query["format"] = "csv"
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("SLA statistics"),
        "opts": model_admin.opts,
        "form": form,
        "result": result,
        "header": header(),
        "rows": table(result),
        "csv_url": f"{reverse('admin:techsupport_ticket_stats', current_app=model_admin.admin_site.name)}?"
        f"{query.urlencode()}",
    }
    return TemplateResponse(request, "admin/techsupport/ticket/stats.html", context)
