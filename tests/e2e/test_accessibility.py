"""Accessibility and usability of the customer portal in a real browser: axe-core's WCAG 2.1 A/AA rules
on every page a customer uses (and their error states), the keyboard alone, visible focus, errors next
to their fields, and a phone's screen (390 px) with no sideways scrolling."""

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from aftersales.cases.models import Case
from aftersales.orders.models import Parcel
from priceprotect import services as price_protection
from returns import services as returns
from techsupport.services import tickets
from tests import factories
from tests.e2e.conftest import TIMEOUT_MS
from tests.priceprotect.conftest import in_transit_order, price
from tests.warranty.conftest import tv_order_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Axe()
# WCAG 2.1 A and AA, plus the best practices that make a page's structure usable with a screen reader.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "rules": {
        rule: {"enabled": True}
        for rule in ("landmark-one-main", "region", "heading-order", "page-has-heading-one", "landmark-unique")
    },
    "resultTypes": ["violations"],
}
RESALEABLE = {"accessories_complete": True, "water_exposure": False}


@dataclass
class Portal:
    customer: object
    phone_order: object  # signed for 2 days ago: every return option is open
    return_case: Case  # approved, awaiting the customer's parcel: the tracking form
    tv_line: object  # a warranty claim can be filed for it
    pp_order: object  # in transit, its price dropped: a price-protection claim is offered
    ticket: Case
    article: object


@pytest.fixture
def portal(db) -> Portal:
    customer = factories.CustomerFactory(full_name="Li Na")
    phone_order = factories.order_with_lines(customer=customer, signed_for_at=timezone.now() - timedelta(days=2))
    Parcel.objects.create(
        order=phone_order,
        carrier="SF Express",
        tracking_number="SF0000000001",
        shipped_at=phone_order.left_warehouse_at,
        signed_for_at=phone_order.signed_for_at,
    )
    small = factories.order_with_lines(customer=customer, lines=((Decimal("50.00"), 1),))
    return_case = returns.submit_request(
        customer=customer,
        order=small,
        kind="return",
        reason="no_reason",
        lines=[{"line": small.lines.get(), "quantity": 1}],
        condition=RESALEABLE,
    )
    assert return_case.status == "awaiting_parcel"  # under the auto-approval limit
    tv_line = tv_order_for(customer, days_ago=20).lines.get()
    pp_order = in_transit_order(customer)
    price(pp_order.lines.get().product, "1799.00")
    claimed = in_transit_order(customer)
    price(claimed.lines.get().product, "1899.00")
    price_protection.file_claim(order=claimed, actor=customer)
    ticket = tickets.open_ticket(
        customer=customer, actor=customer, subject="Earbuds will not pair", body="It fails.", category="usage"
    )
    article = factories.ArticleFactory(
        title="Pairing your earbuds with a phone",
        summary="Reset the earbuds, then pair them again.",
        body="Hold the case button for 15 seconds.",
        products=[phone_order.lines.get().product],
    )
    return Portal(customer, phone_order, return_case, tv_line, pp_order, ticket, article)


def portal_pages(portal: Portal) -> dict[str, str]:
    """Every page a customer uses, by a short name (the phone screenshots' file names)."""
    order, case = portal.phone_order.number, portal.return_case.number
    return {
        "orders": reverse("portal:order-list"),
        "order": reverse("portal:order-detail", args=[order]),
        "options": reverse("returns:order-options", args=[order]),
        "apply": reverse("returns:apply", args=[order]),
        "case": reverse("portal:case-detail", args=[case]),
        "label": reverse("returns:label", args=[case]),
        "cases": reverse("portal:case-list"),
        "timeline": reverse("portal:timeline"),
        "warranty": reverse("warranty:products"),
        "warranty-claim": reverse("warranty:claim", args=[portal.tv_line.pk]),
        "price-protection": reverse("priceprotect:list"),
        "price-protection-order": reverse("priceprotect:order", args=[portal.pp_order.number]),
        "support": reverse("support:tickets"),
        "ask": reverse("support:new"),
        "ask-details": reverse("support:new") + "?question=earbuds+will+not+pair",
        "ticket": reverse("portal:case-detail", args=[portal.ticket.number]),
        "help": reverse("kb:help"),
        "article": reverse("kb:article", args=[portal.article.slug]),
        "downloads": reverse("kb:downloads"),
        "notifications": reverse("portal:notification-list"),
        "account": reverse("portal:account"),
    }


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations on the page as it is now, one line per rule and element."""
    results = AXE.run(page, options=AXE_OPTIONS).response
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at {node['target']}: {node['failureSummary']}"
        for violation in results["violations"]
        for node in violation["nodes"]
    ]


def anonymous_page(browser, live_server, locale="en-US") -> Page:
    context = browser.new_context(base_url=live_server.url, locale=locale, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def expect_the_error_summary_focused(page: Page):
    """A form sent back with errors opens on its summary: focused, so it is read first."""
    summary = page.locator(".error-summary")
    expect(summary).to_have_count(1)
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_be_focused()


def test_axe_finds_no_wcag_violations_on_any_portal_page(portal, log_in, browser, live_server, browser_problems):
    found = {}

    # The login page, in both languages, then its error state (a wrong password).
    for locale, lang in (("zh-CN", "zh-hans"), ("en-US", "en")):
        visitor = anonymous_page(browser, live_server, locale)
        visitor.goto(reverse("login"))
        expect(visitor.locator("html")).to_have_attribute("lang", lang)
        found[f"login ({lang})"] = axe_violations(visitor)
    visitor.get_by_label("E-mail").fill(portal.customer.email)
    visitor.get_by_label("Password").fill("not the password")
    visitor.get_by_role("button", name="Log in").click()
    expect_the_error_summary_focused(visitor)
    expect(visitor.get_by_role("alert")).to_contain_text("Please enter a correct e-mail address and password.")
    found["login with an error"] = axe_violations(visitor)

    page = log_in(portal.customer, reverse("portal:order-list"))
    page.goto(reverse("portal:home"))
    expect(page).to_have_url(re.compile(re.escape(reverse("portal:order-list")) + "$"))  # home is the order list
    for name, url in portal_pages(portal).items():
        page.goto(url)
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        found[name] = axe_violations(page)

    # Error states: the application sent with nothing chosen, the case page's message sent empty.
    apply_url = reverse("returns:apply", args=[portal.phone_order.number])
    page.goto(apply_url)
    page.get_by_role("button", name="Submit request").click()
    expect_the_error_summary_focused(page)
    found["apply with errors"] = axe_violations(page)
    case_url = reverse("portal:case-detail", args=[portal.return_case.number])
    page.goto(case_url)
    page.get_by_role("button", name="Send", exact=True).click()
    expect_the_error_summary_focused(page)
    expect(page.get_by_label("Message")).to_have_attribute("aria-invalid", "true")
    found["case with an error"] = axe_violations(page)
    claim_url = reverse("warranty:claim", args=[portal.tv_line.pk])
    page.goto(claim_url)
    page.get_by_role("button", name="Submit claim").click()
    expect_the_error_summary_focused(page)
    found["warranty claim with errors"] = axe_violations(page)

    assert {name: problems for name, problems in found.items() if problems} == {}
    assert browser_problems == [f"400 POST {live_server.url}{url}" for url in (apply_url, case_url, claim_url)]


# --- The keyboard alone, and where the focus is ---------------------------------------------------------------

# The focused element's look (outline, box shadow) and whether it stands out: a ring at least 2px wide with
# a contrast of 3:1 against what is behind it (a faint shadow, the old look, vanished on the dark top bar).
FOCUS_LOOK = """el => {
  const style = getComputedStyle(el);
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const lin = v => (v /= 255) <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  let behind = el.parentElement, back = [255, 255, 255];
  while (behind) {
    const c = rgb(getComputedStyle(behind).backgroundColor);
    if (c.length === 3 || c[3] > 0) { back = c.slice(0, 3); break; }
    behind = behind.parentElement;
  }
  const ring = rgb(style.outlineColor).slice(0, 3);
  const [hi, lo] = [luminance(ring), luminance(back)].sort((a, b) => b - a);
  return {
    look: [style.outlineStyle, style.outlineWidth, style.outlineColor, style.boxShadow].join(" | "),
    ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2 && (hi + 0.05) / (lo + 0.05) >= 3,
  };
}"""


def focused(page: Page):
    return page.evaluate_handle("document.activeElement")


def tab_to(page: Page, target, presses: int = 40) -> None:
    """Press Tab until `target` has the focus."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{target} never got the focus in {presses} presses of Tab")


def test_the_return_application_with_the_keyboard_alone(portal, log_in, browser_problems):
    order = portal.phone_order
    line = order.lines.get()
    page = log_in(portal.customer, reverse("returns:apply", args=[order.number]))

    # The first Tab stop skips the navigation: Enter on it puts the focus on the page's content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    expect(page.get_by_role("link", name="Skip to content")).to_be_in_viewport()  # shown while focused
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="← After-sales options")).to_be_focused()  # main's first link

    no_reason = page.get_by_label("Return & refund · No reason (7-day return)")
    tab_to(page, no_reason)
    page.keyboard.press("Space")
    expect(no_reason).to_be_checked()
    quantity = page.get_by_label(f"Quantity of {line.product_name}")
    tab_to(page, quantity)
    page.keyboard.press("Control+A")
    page.keyboard.type("1")
    complete = page.get_by_label("All accessories, manuals and gifts are included")
    tab_to(page, complete)
    page.keyboard.press("Space")
    expect(complete).to_be_checked()
    tab_to(page, page.get_by_label("Describe the problem"))
    page.keyboard.type("Unopened; I ordered the wrong colour.")
    tab_to(page, page.get_by_role("button", name="Submit request"))
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/cases/RMA-[^/]+/(#main)?$"))  # the skip link's #main stays
    case = Case.objects.get(order=order)
    request = case.return_request
    assert (case.kind, request.reason) == ("return", "no_reason")
    assert request.description == "Unopened; I ordered the wrong colour."
    assert [(rl.order_line, rl.quantity) for rl in request.lines.all()] == [(line, 1)]
    expect(page.get_by_text(f"Your request {case.number} was submitted.")).to_be_visible()
    assert browser_problems == []


def test_every_tab_stop_shows_where_the_focus_is(portal, log_in, browser_problems):
    """On the application (links on the dark top bar, the language switch, radios, a number, boxes, a
    text area, files, a button) every Tab stop looks different while focused, with a clear ring."""
    page = log_in(portal.customer, reverse("returns:apply", args=[portal.phone_order.number]))
    stops, looks = [], []
    for _ in range(60):
        page.keyboard.press("Tab")
        element = focused(page)
        if element.evaluate("el => el === document.body") or (
            stops and element.evaluate("(a, b) => a === b", stops[0])
        ):
            break  # round the page and back to the top
        if element.evaluate("el => el.name === 'option' && !el.checked"):
            page.keyboard.press("Space")  # a return without a reason: its condition boxes show
        stops.append(element)
        looks.append(element.evaluate(FOCUS_LOOK))
    kinds = {stop.evaluate("el => el.type || el.tagName") for stop in stops}
    assert {"A", "select-one", "submit", "radio", "number", "checkbox", "textarea", "file"} <= kinds
    page.evaluate("document.activeElement.blur()")
    unclear = []
    for element, look in zip(stops, looks, strict=True):
        name = element.evaluate("el => el.outerHTML.slice(0, 90)")
        if not look["ring"] or element.evaluate(FOCUS_LOOK)["look"] == look["look"]:
            unclear.append(f"{name}: {look['look']}")
    assert unclear == []
    assert browser_problems == []


# --- Errors next to their fields ------------------------------------------------------------------------------


def expect_the_error_next_to(page: Page, field, message: str) -> None:
    """The field is marked invalid and described by its error, which is shown right by it; the summary
    at the top links to it."""
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile(re.escape(message)))
    error_id = field.evaluate("el => el.getAttribute('aria-describedby').split(' ').find(id => id.endsWith('_error'))")
    error = page.locator(f"[id='{error_id}']")
    expect(error).to_be_visible()
    expect(error).to_contain_text(message)
    gap = page.evaluate(
        """([a, b]) => {
          const r = a.getBoundingClientRect(), s = b.getBoundingClientRect();
          return Math.max(0, r.top - s.bottom, s.top - r.bottom);
        }""",
        [error.element_handle(), field.element_handle()],
    )
    assert gap < 40, f"{message!r} is {gap}px away from its field"


def test_errors_are_shown_and_announced_next_to_their_fields(
    portal, log_in, live_server, screenshots, browser_problems
):
    shots = screenshots / "accessibility"
    shots.mkdir(exist_ok=True)
    order = portal.phone_order
    line = order.lines.get()
    page = log_in(portal.customer, reverse("returns:apply", args=[order.number]))

    # The application: more units than can be returned.
    page.get_by_label("Return & refund · No reason (7-day return)").check()
    quantity = page.get_by_label(f"Quantity of {line.product_name}")
    quantity.fill("5")
    page.get_by_role("button", name="Submit request").click()
    expect_the_error_summary_focused(page)
    expect_the_error_next_to(page, quantity, "At most 1 can still be returned.")
    page.screenshot(path=shots / "apply-errors.png", full_page=True)
    page.locator(".error-summary").get_by_role("link", name=f"Quantity of {line.product_name}").click()
    expect(quantity).to_be_focused()
    assert axe_violations(page) == []
    assert not Case.objects.filter(order=order).exists()

    # Nothing chosen: the group of choices is described by its error, each choice marked invalid.
    page.goto(reverse("returns:apply", args=[order.number]))
    page.get_by_role("button", name="Submit request").click()
    expect_the_error_summary_focused(page)
    choices = page.get_by_role("group", name="What would you like?")
    expect(choices).to_have_accessible_description(re.compile("This field is required."))
    expect(page.get_by_label("Return & refund · No reason (7-day return)")).to_have_attribute("aria-invalid", "true")

    # A support question sent empty: each field's own error beside it (the shared field markup).
    page.goto(reverse("support:new") + "?question=earbuds+will+not+pair")
    page.get_by_label("Subject").fill("")
    page.get_by_role("button", name="Send", exact=True).click()
    expect_the_error_summary_focused(page)
    expect_the_error_next_to(page, page.get_by_label("Subject"), "This field is required.")
    expect_the_error_next_to(
        page, page.get_by_label("Describe your question or the problem"), "This field is required."
    )
    page.screenshot(path=shots / "question-errors.png", full_page=True)
    expect(page.get_by_role("group", name="What is it about?")).to_have_accessible_description(
        re.compile("This field is required.")
    )
    assert axe_violations(page) == []

    # Registering a serial number that is not one.
    page.goto(reverse("warranty:products"))
    serial = page.locator(f"#line-{portal.tv_line.pk}").get_by_label("Register a serial number")
    serial.fill("not a serial!")
    page.locator(f"#line-{portal.tv_line.pk}").get_by_role("button", name="Register").click()
    expect_the_error_summary_focused(page)
    expect_the_error_next_to(page, serial, "A serial number is letters and digits (and dashes), at most 64.")
    page.screenshot(path=shots / "serial-errors.png")
    page.locator(".error-summary").get_by_role("link", name="Register a serial number").click()
    expect(serial).to_be_focused()
    assert axe_violations(page) == []

    assert browser_problems == [
        f"400 POST {live_server.url}{url}"
        for url in (
            reverse("returns:apply", args=[order.number]),
            reverse("returns:apply", args=[order.number]),
            reverse("support:new") + "?question=earbuds+will+not+pair",  # the form posts to its page
            reverse("warranty:register-serial", args=[portal.tv_line.pk]),
        )
    ]


# --- A phone's screen -------------------------------------------------------------------------------------------

# What does not fit a phone: sideways scrolling; navigation items off the screen or too small to tap;
# tables wider than the screen (unless they scroll in their own box) or whose cells lose their headings.
PHONE_PROBLEMS = """() => {
  const problems = [], width = window.innerWidth;
  if (document.documentElement.scrollWidth > width) {
    problems.push(`the page is ${document.documentElement.scrollWidth}px wide`);
  }
  const nav = document.querySelector("nav.nav");
  for (const item of nav.querySelectorAll("a, button")) {
    const box = item.getBoundingClientRect();
    if (box.left < 0 || box.right > width || box.height < 24 || box.width < 24) {
      problems.push(`menu item "${item.textContent.trim()}" at ${box.left}-${box.right}, ${box.height}px high`);
    }
  }
  if (nav.getBoundingClientRect().bottom > window.innerHeight / 2) {
    problems.push("the menu takes more than half the screen");
  }
  for (const table of document.querySelectorAll("main table")) {
    let box = table.getBoundingClientRect(), scroller = table.parentElement;
    while (scroller && !["auto", "scroll"].includes(getComputedStyle(scroller).overflowX)) {
      scroller = scroller.parentElement;
    }
    if (box.right > width + 1 && !(scroller && scroller.getBoundingClientRect().right <= width)) {
      problems.push(`a table is ${box.width}px wide`);
    }
    const headings = table.tHead && getComputedStyle(table.tHead).display !== "none";
    for (const cell of table.querySelectorAll("tbody td")) {
      if (cell.scrollWidth > cell.clientWidth + 1) problems.push(`a cell overflows: ${cell.textContent.trim()}`);
      if (!headings && !cell.dataset.label && cell.textContent.trim()) {
        problems.push(`a cell without its heading: ${cell.textContent.trim()}`);
      }
    }
  }
  return problems;
}"""


def test_every_page_fits_a_phone(portal, log_in, screenshots, browser_problems):
    shots = screenshots / "phone"
    shots.mkdir(exist_ok=True)
    page = log_in(portal.customer, reverse("portal:order-list"), width=390)
    found = {}
    for name, url in portal_pages(portal).items():
        page.goto(url)
        found[name] = page.evaluate(PHONE_PROBLEMS)
        page.screenshot(path=shots / f"{name}.png", full_page=True)
    assert {name: problems for name, problems in found.items() if problems} == {}
    # The navigation is usable: a tap on an item opens its page.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My cases").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My cases")
    assert browser_problems == []
