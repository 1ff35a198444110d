"""The insight page in the staff dashboard: who sees it, its form, a chart per figure and each chart's CSV."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales.cases.models import Case
from aftersales.insight import charts, selectors
from aftersales.insight.dashboard import CHARTS
from tests import factories

from .conftest import MARCH, at

pytestmark = pytest.mark.django_db
PAGE = reverse("admin:insight")
MARCH_QUERY = {"start": "2026-03-01", "end": "2026-03-31"}


@pytest.fixture
def finance(db):
    return factories.StaffFactory(role="finance")


def _content(response) -> str:
    """The page's own content, without the admin's icons (SVG too)."""
    return response.content.decode().split('id="content-main"', 1)[1].split("<!-- END Content -->", 1)[0]


def _csv(response) -> list[list[str]]:
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("role", ["supervisor", "finance"])
def test_supervisors_and_finance_see_every_chart(client, world, role):
    client.force_login(factories.StaffFactory(role=role))
    response = client.get(PAGE, MARCH_QUERY)
    assert response.status_code == 200
    html = _content(response)
    for chart in CHARTS:
        block = html.split(f'id="chart-{chart.name}"', 1)[1].split('class="module insight-chart"', 1)[0]
        assert "<svg" in block, chart.name
        assert f"csv={chart.name}" in block
    assert html.count("<svg") == len(CHARTS)
    assert "<script" not in html
    assert "Case &lt;b&gt;" in html or "Case &amp;lt;b&amp;gt;" in html  # escaped, never markup
    assert "<b>" not in html


def test_agents_get_403_and_customers_the_login(client, agent, customer):
    client.force_login(agent)
    assert client.get(PAGE).status_code == 403
    client.force_login(customer)
    response = client.get(PAGE)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.logout()
    assert client.get(PAGE).status_code == 302


def test_the_index_links_the_page_for_those_who_see_it(client, supervisor, agent):
    client.force_login(supervisor)
    assert 'id="shortcut-insight"' in client.get(reverse("admin:index")).content.decode()
    client.force_login(agent)
    assert 'id="shortcut-insight"' not in client.get(reverse("admin:index")).content.decode()


def test_default_period_is_the_last_30_days(client, supervisor):
    client.force_login(supervisor)
    response = client.get(PAGE)
    assert response.status_code == 200
    today = timezone.localdate()
    assert response.context["period"]["start"] == today - timedelta(29)
    assert response.context["period"]["end"] == today
    assert _content(response).count("<svg") == len(CHARTS)


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2026-03-31", "end": "2026-03-01"},
        {"start": "not a date", "end": "2026-03-01"},
        {"start": "2020-01-01", "end": "2026-03-01"},
        {**MARCH_QUERY, "product": "NO-SUCH-SKU"},
        {**MARCH_QUERY, "category": "999999"},
        {**MARCH_QUERY, "kind": "nonsense"},
        {**MARCH_QUERY, "brand": "x", "csv": "volumes"},
    ],
)
def test_invalid_input_shows_the_form_errors(client, supervisor, query):
    client.force_login(supervisor)
    response = client.get(PAGE, query)
    assert response.status_code == 200
    html = _content(response)
    assert 'class="errornote"' in html
    assert "<svg" not in html


def test_unknown_chart_csv_is_404(client, supervisor):
    client.force_login(supervisor)
    assert client.get(PAGE, {**MARCH_QUERY, "csv": "nope"}).status_code == 404


def test_filters_narrow_the_figures(client, supervisor, world):
    client.force_login(supervisor)
    query = {**MARCH_QUERY, "product": "P1", "csv": "volumes"}
    rows = _csv(client.get(PAGE, query))[1:]
    assert sum(int(row[2]) for row in rows) == 4  # r1, r4, t1, pp1
    query = {**MARCH_QUERY, "kind": "ticket", "csv": "reasons"}
    assert {row[0] for row in _csv(client.get(PAGE, query))[1:]} == {"ticket"}


def test_csv_numbers_equal_the_selectors(client, finance, world):
    client.force_login(finance)
    for chart in CHARTS:
        response = client.get(PAGE, {**MARCH_QUERY, "csv": chart.name})
        assert response.status_code == 200, chart.name
        assert response["Content-Type"].startswith("text/csv")
        assert f'filename="{chart.name}-20260301-20260331.csv"' in response["Content-Disposition"]
        header, *rows = _csv(response)
        assert header == [str(title) for title in chart.header()]
        assert rows == [[str(value) for value in row] for row in chart.table(chart.rows(MARCH))], chart.name
    refunds = _csv(client.get(PAGE, {**MARCH_QUERY, "csv": "refunds"}))[1:]
    assert ["source", "return", "Return", "1", "200.00"] in refunds
    rates = _csv(client.get(PAGE, {**MARCH_QUERY, "csv": "return_rates"}))[1:]
    assert rates[0] == ["P1", "手机 $Pro", "4", "3", "0.7500"]


def test_query_count_does_not_grow_with_the_data(client, supervisor, world, django_assert_max_num_queries):
    client.force_login(supervisor)
    with django_assert_max_num_queries(40) as small:
        client.get(PAGE, MARCH_QUERY)
    baseline = len(small.captured_queries)
    for day in range(1, 20):
        order = factories.order_with_lines(placed_at=at(day))
        factories.open_case(kind="ticket", order=order)
    with django_assert_max_num_queries(baseline):
        client.get(PAGE, MARCH_QUERY)
    with django_assert_max_num_queries(baseline):
        client.get(PAGE, {"start": "2025-04-01", "end": "2026-03-31"})


def _volumes_svg(client) -> str:
    html = _content(client.get(PAGE, MARCH_QUERY))
    return html.split('id="chart-volumes"', 1)[1].split("</svg>", 1)[0]


def test_a_chart_is_drawn_once_per_rows_and_drawn_again_when_they_change(client, supervisor, world, monkeypatch):
    from django.core.cache import cache

    cache.clear()
    client.force_login(supervisor)
    first = _volumes_svg(client)
    drawn = []
    monkeypatch.setattr(charts, "volumes", lambda *args, **kwargs: drawn.append(1) or "<svg>redrawn</svg>")
    assert _volumes_svg(client) == first and drawn == []  # the same rows: the cached drawing
    case = factories.open_case(kind="ticket", order=factories.order_with_lines(placed_at=at(9)))
    Case.objects.filter(pk=case.pk).update(opened_at=at(9))
    assert "redrawn" in _volumes_svg(client) and drawn == [1]  # a new case in March: drawn again
    supervisor.preferred_language = "zh-hans"
    supervisor.save(update_fields=["preferred_language"])
    _volumes_svg(client)
    assert drawn == [1, 1]  # another language: its own drawing


def test_chart_text_is_escaped_and_scripts_are_stripped():
    rows = [selectors.ReturnRateRow(1, "X<1>", "<script>alert(1)</script> & $x$", 2, 1, selectors.Decimal("0.5"))]
    svg = charts.return_rates(rows)
    assert svg.startswith("<svg")
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg and "$x$" in svg
    assert charts.clean('<?xml ?><svg onload="x()"><script>bad()</script><g/></svg>') == "<svg><g/></svg>"
    assert re.search(r"<text", charts.volumes([], buckets=MARCH.buckets(), kind_labels={}))
