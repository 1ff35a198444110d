"""The insight page (R-FB-2) in the staff dashboard, and each chart's CSV download.

Who sees it: whoever holds `insight.view_insight` — the supervisor and finance roles, and superusers;
any other staff user gets 403, and the admin site sends everyone else to its login."""

import csv
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from . import charts
from .dashboard import BY_NAME, CHARTS, chart_svg
from .forms import InsightForm


def can_see(user) -> bool:
    return user.has_perm("insight.view_insight")


def insight_page(request, admin_site):
    if not can_see(request.user):
        raise PermissionDenied
    bound = "start" in request.GET or "end" in request.GET
    form = InsightForm(request.GET if bound else {**request.GET.dict(), **_dates(InsightForm.default_initial())})
    name = request.GET.get("csv")
    if name is not None and name not in BY_NAME:
        raise Http404
    context = {**admin_site.each_context(request), "title": _("Insight"), "form": form, "charts": []}
    if form.is_valid():
        filters = form.filters()
        if name:
            return _csv(BY_NAME[name], filters)
        query = request.GET.copy()
        query.update(_dates({"start": form.cleaned_data["start"], "end": form.cleaned_data["end"]}))
        for chart in CHARTS:
            rows = chart.rows(filters)
            query["csv"] = chart.name
            # matplotlib's own output, stripped to the <svg> element by charts.clean, named by the
            # chart's heading (the template gives it this id; a chart's name is a fixed identifier)
            svg = charts.labelled(chart_svg(chart, rows, filters), f"chart-{chart.name}-title")
            context["charts"].append(
                {
                    "name": chart.name,
                    "title": chart.title,
                    "svg": mark_safe(svg),  # noqa: S308
                    "csv_url": f"?{query.urlencode()}",
                }
            )
        context["period"] = form.cleaned_data
    return TemplateResponse(request, "admin/insight/page.html", context)


def _dates(period: dict) -> dict:
    return {key: f"{value:%Y-%m-%d}" for key, value in period.items()}


def _csv(chart, filters) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{chart.name}-{filters.start:%Y%m%d}-{filters.end - timedelta(days=1):%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response.write("\ufeff")  # so spreadsheet programs read the file as UTF-8
    writer = csv.writer(response)
    writer.writerow([str(title) for title in chart.header()])
    writer.writerows(chart.table(chart.rows(filters)))
    return response
