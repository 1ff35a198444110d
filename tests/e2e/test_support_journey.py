"""R-SUP-1 … R-SUP-5 and R-FB-1 in a real browser: a customer asks a question, sees a suggested article
and opens a ticket anyway; an agent answers it from the ticket desk, escalates it to technical support
and closes it; the customer rates it 2/5 and the ticket reopens."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from aftersales.cases.models import Case, Feedback
from techsupport.models import Deflection, Team, Ticket
from tests import factories

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_question_answered_escalated_closed_and_reopened_by_a_low_rating(log_in, browser_problems, screenshots):
    shots = screenshots / "support"
    shots.mkdir(exist_ok=True)
    customer = factories.CustomerFactory()
    agent = factories.StaffFactory(role="agent", full_name="Zhou Ting")
    technician = factories.StaffFactory(role="technician")
    Team.objects.create(code="first-line", name="First line", tier=1).members.add(agent)
    Team.objects.create(code="technical", name="Technical support", tier=2).members.add(technician)
    order = factories.order_with_lines(customer=customer)
    product = order.lines.get().product
    factories.ArticleFactory(
        title="Pairing your earbuds with a phone",
        summary="Reset the earbuds, then pair them again.",
        body="Hold the case button for 15 seconds.",
        products=[product],
    )

    # Customer: asks; an article is suggested first (R-SUP-5), and they send the question anyway.
    shop = log_in(customer, reverse("support:new"))
    shop.get_by_label("What do you need help with?").fill("earbuds will not pair")
    shop.get_by_role("button", name="Continue").click()
    expect(shop.get_by_role("link", name="Pairing your earbuds with a phone")).to_be_visible()
    shop.screenshot(path=shots / "journey-01-suggestions.png", full_page=True)
    shop.get_by_label("Technical fault").check()
    shop.get_by_label("Describe your question or the problem").fill("Reset done; the phone still cannot see them.")
    shop.get_by_label("Order").select_option(order.number)
    shop.get_by_role("button", name="Send").click()
    expect(shop).to_have_url(re.compile(r"/cases/TKT-[^/]+/$"))
    case = Case.objects.get(kind="ticket", customer=customer)
    assert Deflection.objects.get(customer=customer).outcome == "ticket"
    expect(shop.get_by_text("We answer by")).to_be_visible()

    # Agent: the ticket desk → a public answer, escalation with a reason (R-SUP-2), close.
    desk = log_in(agent, reverse("admin:techsupport_ticket_changelist"))
    desk.get_by_role("link", name=case.number, exact=True).click()
    desk.locator("#id_reply_body").fill("Sorry to hear that. Which phone model do you have?")
    desk.locator("#ticket-reply").get_by_role("button", name="Send").click()
    expect(desk.get_by_text("Sorry to hear that.").first).to_be_visible()
    desk.locator("#id_escalate_reason").fill("Reset did not help; likely a Bluetooth firmware fault.")
    desk.get_by_role("button", name="Escalate").click()
    expect(desk.get_by_text("Technical support").first).to_be_visible()
    desk.screenshot(path=shots / "journey-02-escalated.png", full_page=True)
    desk.get_by_role("button", name="Close", exact=True).click()
    expect(desk.locator(".case-status").first).to_have_text("Closed")
    ticket = Ticket.objects.select_related("team", "case").get(pk=case.pk)
    assert ticket.team.code == "technical" and ticket.first_responded_at is not None
    assert ticket.case.status == "closed"

    # Customer: sees the answer, rates the ticket 2/5 (R-FB-1); the ticket reopens.
    shop.goto(reverse("portal:case-detail", args=[case.number]))
    expect(shop.get_by_text("Which phone model do you have?")).to_be_visible()
    expect(shop.get_by_text("likely a Bluetooth firmware fault")).to_have_count(0)  # internal
    shop.get_by_label("★★ 2/5").check()
    shop.get_by_label("Whether my problem was solved").check()
    shop.get_by_label("Comment").fill("Closed without a fix.")
    shop.get_by_role("button", name="Rate").click()
    expect(shop.get_by_role("heading", level=1)).to_contain_text("In progress")
    shop.screenshot(path=shots / "journey-03-reopened.png", full_page=True)

    case.refresh_from_db()
    assert case.status == "open" and case.closed_at is None
    assert Feedback.objects.get(case=case).rating == 2
    assert browser_problems == []
