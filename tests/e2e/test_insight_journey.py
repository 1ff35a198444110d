"""R-FB-2 in a real browser: staff see the figures as charts, by period, brand and kind. A supervisor opens
the insight page, narrows it with its form to a period, a brand and a case kind, sees every chart drawn
(an SVG image named by its heading) and downloads the "Cases opened" CSV, whose numbers must equal a
count of the cases the test opened. Once in English and once in Chinese (the supervisor's profile
language): the headings are Chinese. A finance user may open the page too; an agent is refused (403)."""

import csv
import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from playwright.sync_api import expect

from aftersales.cases.models import Case, CaseKind
from aftersales.insight.dashboard import CHARTS
from aftersales.insight.forms import InsightForm
from returns.models import ReturnLine, ReturnRequest
from tests import factories

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGE = reverse("admin:insight")
CJK = re.compile(r"[\u4e00-\u9fff]")
# The texts of a chart that the browser draws (partly) outside the chart: labels measured too narrow.
TEXTS_CUT_OFF = """svg => {
    const chart = svg.getBoundingClientRect();
    return [...svg.querySelectorAll("text")].filter(text => {
        const box = text.getBoundingClientRect();
        return box.width && (box.left < chart.left - 1 || box.right > chart.right + 1);
    }).map(text => text.textContent);
}"""


def opened_at(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10, 0)))


def return_case(product, kind: str, day) -> Case:
    """A return-kind case for one unit of `product`, opened at 10:00 on the shop's `day` (moved there
    after opening, as the insight tests do; the detail rows are the returns app's own)."""
    order = factories.order_with_lines(lines=((product.price, 1),))
    line = order.lines.get()
    line.product = product
    line.product_name = product.name
    line.save(update_fields=["product", "product_name"])
    case = factories.open_case(kind=kind, customer=order.customer, order=order)
    Case.objects.filter(pk=case.pk).update(opened_at=opened_at(day))
    request = ReturnRequest.objects.create(
        case=case, reason="quality", return_shipping_paid_by="shop", refund_estimate=product.price
    )
    ReturnLine.objects.create(request=request, order_line=line, quantity=1)
    return case


@pytest.fixture
def cases_to_count():
    """Returns of one brand's phone on two days of the period, and cases the filters must leave out:
    the same brand before and after the period, another brand, and another kind."""
    today = timezone.localdate()
    start, end = today - timedelta(days=13), today - timedelta(days=1)
    acme = factories.ProductFactory(name="Acme X1", brand=factories.BrandFactory(name="Acme"), price=Decimal("999"))
    zeta = factories.ProductFactory(name="Zeta Z", brand=factories.BrandFactory(name="Zeta"), price=Decimal("599"))
    busy, quiet = today - timedelta(days=10), today - timedelta(days=4)
    counted = [
        return_case(acme, CaseKind.RETURN, busy),
        return_case(acme, CaseKind.RETURN, busy),
        return_case(acme, CaseKind.RETURN, quiet),
    ]
    return_case(acme, CaseKind.RETURN, start - timedelta(days=1))  # before the period
    return_case(acme, CaseKind.RETURN, today)  # after it (the period ends yesterday)
    return_case(zeta, CaseKind.RETURN, busy)  # another brand
    return_case(acme, CaseKind.EXCHANGE, busy)  # another kind
    return {"start": start, "end": end, "brand": acme.brand, "counted": counted}


def expected_volumes(counted: list[Case]) -> list[list[str]]:
    """The "Cases opened" rows, counted here: (day, kind, cases) for each day with any."""
    per_day: dict = {}
    for case in counted:
        case.refresh_from_db()
        key = (timezone.localdate(case.opened_at).isoformat(), case.kind)
        per_day[key] = per_day.get(key, 0) + 1
    return [[day, kind, str(n)] for (day, kind), n in sorted(per_day.items())]


def field(page, label: str):
    """A form field by its label, which Django ends with a colon (full-width in Chinese)."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}\W*$"))


def every_chart_is_drawn(page) -> None:
    """Each chart: its heading, and an SVG image named by it that the browser lays out."""
    expect(page.locator(".insight-chart")).to_have_count(len(CHARTS))
    for chart in CHARTS:
        module = page.locator(f"#chart-{chart.name}")
        expect(module.get_by_role("heading", level=2)).to_have_text(str(chart.title))
        image = module.get_by_role("img", name=str(chart.title), exact=True)
        expect(image).to_be_visible()
        box = image.bounding_box()
        assert box["width"] > 300 and box["height"] > 100, chart.name
        assert image.evaluate(TEXTS_CUT_OFF) == [], chart.name


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_supervisor_narrows_the_charts_and_checks_a_csv(
    log_in, browser_problems, screenshots, cases_to_count, language
):
    shots = screenshots / "insight"
    shots.mkdir(exist_ok=True)
    supervisor = factories.StaffFactory(role="supervisor", preferred_language=language if language != "en" else "")
    start, end, brand = cases_to_count["start"], cases_to_count["end"], cases_to_count["brand"]

    page = log_in(supervisor, PAGE, language=language)
    with translation.override(language):
        heading = translation.gettext("Insight")
        labels = {name: str(field.label) for name, field in InsightForm.base_fields.items()}
        show, download = translation.gettext("Show"), translation.gettext("Download CSV")
        return_label = str(CaseKind.RETURN.label)
        every_chart_is_drawn(page)  # the default period: the last 30 days, nothing narrowed
        expect(page.locator("#content h1")).to_have_text(heading)
        page.screenshot(path=shots / f"{language}-00-last-30-days.png", full_page=True)
        if language == "zh-hans":
            assert heading == "服务洞察"
            for chart in CHARTS:  # every chart's heading is Chinese
                expect(page.locator(f"#chart-{chart.name} h2")).to_have_text(CJK)

        # The form: a period of 13 days ending yesterday, one brand, one kind.
        field(page, labels["start"]).fill(start.isoformat())
        field(page, labels["end"]).fill(end.isoformat())
        field(page, labels["brand"]).select_option(label=brand.name)
        field(page, labels["kind"]).select_option(label=return_label)
        page.get_by_role("button", name=show, exact=True).click()
        expect(page).to_have_url(re.compile(rf"[?&]start={start.isoformat()}&end={end.isoformat()}&"))
        expect(field(page, labels["brand"])).to_have_value(str(brand.pk))
        expect(field(page, labels["kind"])).to_have_value(CaseKind.RETURN)
        every_chart_is_drawn(page)
        volumes = page.locator("#chart-volumes")
        expect(volumes.locator("svg")).to_contain_text(return_label)  # the legend: only returns counted
        expect(volumes.locator("svg")).not_to_contain_text(str(CaseKind.EXCHANGE.label))
        page.screenshot(path=shots / f"{language}-01-narrowed.png", full_page=True)

        # The chart's CSV: the same period and filters, numbers equal to our own count.
        with page.expect_download() as download_info:
            volumes.get_by_role("link", name=download, exact=True).click()
    csv_file = download_info.value
    assert csv_file.suggested_filename == f"volumes-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    with open(csv_file.path(), encoding="utf-8-sig", newline="") as opened:
        header, *rows = list(csv.reader(opened))
    assert len(header) == 3
    assert rows == expected_volumes(cases_to_count["counted"])
    assert sum(int(row[2]) for row in rows) == 3
    assert browser_problems == []


def test_finance_may_open_the_insight_page_and_an_agent_may_not(log_in, live_server, browser_problems, screenshots):
    shots = screenshots / "insight"
    shots.mkdir(exist_ok=True)
    finance = factories.StaffFactory(role="finance")
    agent = factories.StaffFactory(role="agent")

    ledger = log_in(finance, reverse("admin:index"))
    ledger.get_by_role("link", name="Volumes, reasons, refunds and satisfaction").click()
    expect(ledger).to_have_url(re.compile(re.escape(PAGE) + "$"))
    expect(ledger.locator("#content h1")).to_have_text("Insight")
    every_chart_is_drawn(ledger)
    ledger.screenshot(path=shots / "finance.png", full_page=True)

    desk = log_in(agent, reverse("admin:index"))
    expect(desk.get_by_role("link", name="Volumes, reasons, refunds and satisfaction")).to_have_count(0)
    refused = desk.goto(PAGE)
    assert refused.status == 403
    expect(desk.locator("body")).not_to_contain_text("Cases opened")
    desk.screenshot(path=shots / "agent-refused.png", full_page=True)
    assert browser_problems == [f"403 GET {live_server.url}{PAGE}"]  # the refusal, and nothing else
