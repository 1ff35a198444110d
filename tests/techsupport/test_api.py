"""The tickets API (/api/v1/tickets/…): customers open and write on their own tickets; staff work the
queue sorted by SLA deadline (R-SUP-1 … R-SUP-4)."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests import factories
from tests.techsupport.conftest import at

pytestmark = pytest.mark.django_db

TICKETS = reverse("api-tickets")


def client(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def url(name, number):
    return reverse(name, args=[number])


def test_r_sup_1_customer_opens_a_ticket_about_their_order(customer, teams):
    order = factories.order_with_lines(customer=customer)
    response = client(customer).post(
        TICKETS,
        {"subject": "Screen flickers", "body": "Since the update.", "category": "fault", "order": order.number},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"].startswith("TKT-") and body["status"] == "new" and body["order"] == order.number
    assert body["team"] == "first-line" and body["channel"] == "portal"
    assert body["sla"]["first_response_due_at"] is not None
    assert [m["kind"] for m in body["messages"]] == ["customer"]


def test_r_sup_1_bad_input_is_a_400_with_fields(customer, other_customer, teams):
    foreign = factories.order_with_lines(customer=other_customer)
    api = client(customer)
    response = api.post(TICKETS, {"subject": "", "category": "nonsense"}, format="json")
    assert response.status_code == 400
    assert {"subject", "body", "category"} <= set(response.json()["fields"])
    response = api.post(
        TICKETS, {"subject": "x", "body": "y", "category": "usage", "order": foreign.number}, format="json"
    )
    assert response.status_code == 400 and "order" in response.json()["fields"]
    # A customer cannot log a ticket for someone else, nor choose a staff channel.
    response = api.post(
        TICKETS, {"subject": "x", "body": "y", "category": "usage", "customer": other_customer.pk}, format="json"
    )
    assert response.status_code == 403
    response = api.post(TICKETS, {"subject": "x", "body": "y", "category": "usage", "channel": "phone"}, format="json")
    assert response.status_code == 400 and "channel" in response.json()["fields"]


def test_customers_see_only_their_own_tickets_and_no_internal_notes(customer, other_customer, agent, open_ticket):
    case = open_ticket()
    client(agent).post(url("api-ticket-messages", case.number), {"text": "Known bug", "public": False}, format="json")
    mine = client(customer).get(url("api-ticket", case.number)).json()
    assert [m["kind"] for m in mine["messages"]] == ["customer"]
    staff = client(agent).get(url("api-ticket", case.number)).json()
    assert "note" in [m["kind"] for m in staff["messages"]]
    assert client(other_customer).get(url("api-ticket", case.number)).status_code == 404
    assert client(other_customer).get(TICKETS).json()["results"] == []
    response = client(other_customer).post(url("api-ticket-messages", case.number), {"text": "hi"}, format="json")
    assert response.status_code == 404
    assert APIClient().get(TICKETS).status_code in (401, 403)


def test_r_sup_3_staff_queue_is_sorted_by_sla_deadline(customer, agent, open_ticket, time_machine):
    time_machine.move_to(at(2026, 3, 4, 10, 0), tick=False)
    later = open_ticket(subject="later")
    time_machine.move_to(at(2026, 3, 4, 9, 0), tick=False)
    sooner = open_ticket(subject="sooner")
    answered = open_ticket(subject="answered")
    client(agent).post(url("api-ticket-messages", answered.number), {"text": "On it"}, format="json")
    numbers = [t["number"] for t in client(agent).get(TICKETS).json()["results"]]
    assert numbers[:2] == [sooner.number, later.number]  # answered: only its resolution target runs
    assert numbers[2] == answered.number
    assert client(customer).get(TICKETS + "?status=new").json()["count"] == 2


def test_r_sup_2_staff_answer_escalate_resolve_and_the_customer_reopens(customer, agent, open_ticket, teams):
    case = open_ticket()
    staff = client(agent)
    body = staff.post(
        url("api-ticket-messages", case.number), {"text": "Which model?", "then": "ask_customer"}, format="json"
    ).json()
    assert body["status"] == "waiting_on_customer" and body["sla"]["resolution_due_at"] is None
    body = client(customer).post(url("api-ticket-messages", case.number), {"text": "X200"}, format="json").json()
    assert body["status"] == "open"

    body = staff.post(url("api-ticket-escalate", case.number), {"reason": "Firmware crash"}, format="json").json()
    assert body["team"] == "technical"
    again = staff.post(url("api-ticket-escalate", case.number), {"reason": "again"}, format="json")
    assert again.status_code == 400 and again.json()["rule"] == "R-SUP-2"

    body = staff.post(url("api-ticket-resolve", case.number), {"note": "Fixed in 3.2"}, format="json").json()
    assert body["status"] == "resolved"
    body = client(customer).post(url("api-ticket-messages", case.number), {"text": "Still broken"}, format="json")
    assert body.json()["status"] == "open"
    assert staff.post(url("api-ticket-close", case.number), {}, format="json").json()["status"] == "closed"
    closed = client(customer).post(url("api-ticket-messages", case.number), {"text": "?"}, format="json")
    assert closed.status_code == 409


def test_customers_cannot_take_staff_steps(customer, open_ticket):
    case = open_ticket()
    for name in ("api-ticket-resolve", "api-ticket-close", "api-ticket-escalate", "api-ticket-triage"):
        response = client(customer).post(url(name, case.number), {"reason": "x", "priority": "high"}, format="json")
        assert response.status_code == 403, name


def test_r_sup_1_agent_logs_a_phone_contact(customer, agent, teams):
    response = client(agent).post(
        TICKETS,
        {
            "subject": "Called about pairing",
            "body": "Customer called.",
            "category": "usage",
            "channel": "phone",
            "customer": customer.pk,
            "priority": "urgent",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["channel"] == "phone" and body["priority"] == "urgent"
    assert client(customer).get(url("api-ticket", body["number"])).status_code == 200


def test_generic_case_notes_are_refused_on_tickets_so_the_sla_clock_sees_every_message(customer, open_ticket):
    """A ticket's messages run its clock; the cases API's and case page's generic message forms refuse them."""
    case = open_ticket()
    refused = client(customer).post(reverse("api-case-notes", args=[case.number]), {"note": "hi"})
    assert refused.status_code == 403
    portal = Client()
    portal.force_login(customer)
    page = portal.get(reverse("portal:case-detail", args=[case.number]))
    assert b'name="action" value="note"' not in page.content
    assert reverse("support:reply", args=[case.number]).encode() in page.content
    portal.post(reverse("portal:case-detail", args=[case.number]), {"action": "note", "note": "sneaky"})
    assert not case.events.filter(note="sneaky").exists()


def test_r_sup_1_a_portal_tickets_acknowledgement_is_ticket_mail_so_an_answer_threads(
    customer, teams, django_capture_on_commit_callbacks, mailoutbox
):
    from techsupport.models import MailMessage

    with django_capture_on_commit_callbacks(execute=True):
        response = client(customer).post(
            TICKETS, {"subject": "Where is my invoice?", "body": "Please send it.", "category": "other"}, format="json"
        )
    number = response.json()["number"]
    sent = MailMessage.objects.get(case__number=number, direction="out")
    [ack] = [m for m in mailoutbox if number in m.subject]
    assert ack.extra_headers["Message-ID"] == sent.message_id  # recorded: a reply to it finds the ticket
    assert ack.extra_headers["Auto-Submitted"] == "auto-replied"
    assert len([m for m in mailoutbox if number in m.subject]) == 1  # not also sent by the core mailer


def test_a_staff_step_on_a_version_nobody_saw_is_a_409(customer, agent, open_ticket):
    case = open_ticket()
    staff = client(agent)
    seen = staff.get(url("api-ticket", case.number)).json()["version"]
    client(customer).post(url("api-ticket-messages", case.number), {"text": "More detail"}, format="json")
    staff.post(url("api-ticket-messages", case.number), {"text": "Thanks"}, format="json")  # accepts: version moves
    stale = staff.post(url("api-ticket-close", case.number), {"version": seen}, format="json")
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    fresh = staff.get(url("api-ticket", case.number)).json()["version"]
    assert staff.post(url("api-ticket-close", case.number), {"version": fresh}, format="json").status_code == 200
