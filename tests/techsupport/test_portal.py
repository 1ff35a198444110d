"""The customer's support pages: my questions, asking (articles suggested first, R-SUP-5), and writing
on a ticket (R-SUP-1, R-SUP-6); another customer's ticket is a 404."""

import pytest
from django.urls import reverse

from aftersales.cases.models import Case
from techsupport.models import Deflection, Ticket
from techsupport.services import tickets
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal(client, customer):
    client.force_login(customer)
    return client


def test_my_questions_lists_only_mine(portal, customer, other_customer, teams):
    mine = tickets.open_ticket(customer=customer, actor=customer, subject="Mine", body="b", category="usage")
    theirs = tickets.open_ticket(
        customer=other_customer, actor=other_customer, subject="Theirs", body="b", category="usage"
    )
    page = portal.get(reverse("support:tickets"))
    assert page.status_code == 200
    assert mine.number.encode() in page.content and theirs.number.encode() not in page.content
    assert reverse("kb:help").encode() in page.content


def test_r_sup_5_asking_suggests_articles_then_the_ticket_records_the_deflection(portal, customer, teams):
    order = factories.order_with_lines(customer=customer)
    product = order.lines.get().product
    article = factories.ArticleFactory(title="Pairing the earbuds", body="Hold the button.", products=[product])
    first = portal.get(reverse("support:new"))
    assert first.status_code == 200 and b'name="question"' in first.content and b'id="ticket-form"' not in first.content

    page = portal.get(reverse("support:new"), {"question": "earbuds will not pair", "product": product.pk})
    assert page.status_code == 200 and article.title.encode() in page.content
    deflection = Deflection.objects.get(customer=customer)
    assert list(deflection.articles.all()) == [article]
    assert page.context["form"].initial["subject"] == "earbuds will not pair"

    response = portal.post(
        reverse("support:new"),
        {
            "subject": "earbuds will not pair",
            "category": "fault",
            "body": "Tried the reset.",
            "order": order.number,
            "product": product.pk,
            "urgent": "on",
            "deflection": deflection.pk,
        },
    )
    case = Case.objects.get(kind="ticket", customer=customer)
    assert response.status_code == 302 and response.url == reverse("portal:case-detail", args=[case.number])
    ticket = Ticket.objects.get(pk=case.pk)
    assert (ticket.category, ticket.priority, ticket.product, case.order) == ("fault", "high", product, order)
    deflection.refresh_from_db()
    assert deflection.outcome == "ticket" and deflection.case == case


def test_r_sup_1_bad_input_is_a_form_error_and_nothing_is_written(portal, customer, other_customer, teams):
    foreign = factories.order_with_lines(customer=other_customer)
    response = portal.post(reverse("support:new"), {"subject": "", "category": "nope", "order": foreign.number})
    assert response.status_code == 400
    assert {"subject", "category", "body", "order"} <= set(response.context["form"].errors)
    assert not Case.objects.filter(kind="ticket").exists()


def test_r_sup_1_a_question_about_a_case_links_it(portal, customer, teams):
    other = factories.open_case(customer=customer)
    page = portal.get(reverse("support:new"), {"case": other.number})
    assert f'name="case" value="{other.number}"'.encode() in page.content  # step one carries it along
    page = portal.get(reverse("support:new"), {"case": other.number, "question": "when is my refund"})
    assert page.context["form"].initial["related_case"] == other.number
    response = portal.post(
        reverse("support:new") + f"?case={other.number}",
        {"subject": "About my return", "category": "other", "body": "When?", "related_case": other.number},
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(case__customer=customer)
    assert ticket.related_case == other and ticket.case.order == other.order
    assert other.events.filter(data__linked_case=ticket.case.number).exists()


def test_r_sup_6_the_customers_reply_resumes_a_waiting_ticket(portal, customer, agent, open_ticket):
    case = open_ticket()
    tickets.reply(case=case, actor=agent, body="Which model?", then="ask_customer")
    page = portal.get(reverse("portal:case-detail", args=[case.number]))
    assert b"We need your reply to carry on." in page.content
    response = portal.post(reverse("support:reply", args=[case.number]), {"body": "The X200."})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "open" and case.events.filter(note="The X200.", data__reply="customer").exists()
    assert Ticket.objects.get(pk=case.pk).clock_started_at is not None


def test_a_closed_ticket_offers_a_new_question_instead_of_a_reply(portal, customer, agent, open_ticket):
    case = open_ticket()
    tickets.close(case=case, actor=agent)
    page = portal.get(reverse("portal:case-detail", args=[case.number]))
    assert b'id="ticket-reply"' not in page.content
    assert f"?case={case.number}".encode() in page.content
    portal.post(reverse("support:reply", args=[case.number]), {"body": "hello?"})
    assert not case.events.filter(note="hello?").exists()


def test_another_customers_ticket_is_a_404(client, other_customer, open_ticket):
    case = open_ticket()
    client.force_login(other_customer)
    assert client.get(reverse("portal:case-detail", args=[case.number])).status_code == 404
    assert client.post(reverse("support:reply", args=[case.number]), {"body": "x"}).status_code == 404
    assert not case.events.filter(note="x").exists()


def test_one_timeline_across_tickets_and_the_other_cases(portal, customer, other_customer, agent, open_ticket):
    ret = factories.open_case(customer=customer)
    ticket = open_ticket(related_case=ret)
    tickets.reply(case=ticket, actor=agent, body="Looked into your return.")
    tickets.reply(case=ticket, actor=agent, body="Staff-only remark", public=False)
    theirs = factories.open_case(customer=other_customer)
    page = portal.get(reverse("portal:timeline"))
    assert page.status_code == 200
    content = page.content.decode()
    assert ret.number in content and ticket.number in content and theirs.number not in content
    assert "Looked into your return." in content and "Staff-only remark" not in content
    # Newest first: the answer comes before the return's opening.
    assert content.index("Looked into your return.") < content.index(f">{ret.number}<")
