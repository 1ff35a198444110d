"""The ticket desk in the staff dashboard (R-SUP-1 … R-SUP-4): the queue sorted by the SLA clock and
its filters, the ticket page (header, conversation, customer panel) and its forms, each calling a
ticket service; refusals come back as messages."""

import json
import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales.cases.models import Case, CaseKind
from techsupport.models import CannedReply, Channel, SlaFlag, SlaPolicy, Ticket
from techsupport.selectors import render_canned
from techsupport.services import tickets
from tests import factories
from tests.dashboard.conftest import form_data, photo
from tests.techsupport.conftest import at
from tests.warranty.conftest import ALL_DOCUMENTS, tv_order_for

pytestmark = pytest.mark.django_db
QUEUE = reverse("admin:techsupport_ticket_changelist")
WEDNESDAY = at(2026, 3, 4, 10, 0)


def page_url(case) -> str:
    return reverse("admin:techsupport_ticket_change", args=[case.pk])


def action_url(case, action: str) -> str:
    return reverse(f"admin:techsupport_ticket_{action}", args=[case.pk])


def notices(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def listed(response) -> list[str]:
    return [ticket.case.number for ticket in response.context["cl"].result_list]


def post_form(client, case, form_id: str, **changes):
    """Submit a form of the ticket page as a browser would, with `changes` typed in."""
    page = client.get(page_url(case)).content.decode()
    data = form_data(page, form_id)
    assert data, f"no form {form_id} on the page"
    data.update(changes)
    action = re.search(rf'<form method="post" action="([^"]+)" id="{form_id}"', page).group(1)
    return client.post(action, data)


@pytest.fixture
def at_work(time_machine):
    time_machine.move_to(WEDNESDAY, tick=False)
    return time_machine


# --- The queue ---------------------------------------------------------------------------------------


def test_the_queue_puts_the_soonest_sla_target_first_and_paused_tickets_last(client, agent, open_ticket, at_work):
    SlaPolicy.objects.create(name="Urgent", priorities=["urgent"], first_response_minutes=15)
    normal = open_ticket(subject="Normal one")  # due 11:00
    waiting = open_ticket(subject="Waiting one")
    tickets.reply(case=waiting, actor=agent, body="Which model is it?", then="ask_customer")
    urgent = open_ticket(subject="Urgent one", priority="high")
    tickets.set_priority(case=urgent, actor=agent, priority="urgent")  # due 10:15
    client.force_login(agent)
    response = client.get(QUEUE)
    assert response.status_code == 200
    assert listed(response) == [urgent.number, normal.number, waiting.number]
    assert 'class="sla sla-paused">paused<' in response.text
    assert 'soonest is at the top; "paused" tickets wait on the customer' in response.text
    assert "15 min left" in response.text and "1 h 00 min left" in response.text
    # The SLA column sorts the other way too.
    index = list(response.context["cl"].list_display).index("sla_countdown")
    assert listed(client.get(QUEUE, {"o": f"-{index}"})) == [waiting.number, normal.number, urgent.number]


def test_an_overdue_ticket_shows_how_late_it_is(client, agent, open_ticket, at_work):
    open_ticket()
    at_work.move_to(at(2026, 3, 4, 11, 30), tick=False)
    client.force_login(agent)
    assert "overdue 30 min" in client.get(QUEUE).text


def test_the_queue_filters_and_search(client, agent, technician, lead, customer, other_customer, open_ticket, at_work):
    mine = open_ticket(subject="Mine")
    tickets.assign(case=mine, actor=agent, assignee=agent)
    unassigned = open_ticket(subject="Nobody's", category="complaint", channel=Channel.PORTAL)
    escalated = open_ticket(subject="Escalated")
    tickets.escalate(case=escalated, actor=agent, reason="Firmware bug")
    phone = tickets.open_ticket(
        customer=other_customer,
        actor=agent,
        subject="Phoned in",
        body="Called about pairing",
        category="fault",
        channel=Channel.PHONE,
        priority="high",
    )
    late = open_ticket(subject="Late")
    at_work.move_to(at(2026, 3, 4, 11, 5), tick=False)  # the first responses were due at 11:00
    tickets.reply(case=late, actor=agent, body="Sorry for the wait")  # answered late: breached ever
    client.force_login(agent)
    everyone = {mine.number, unassigned.number, escalated.number, phone.number, late.number}
    expectations = [
        ({"assigned": "me"}, {mine.number, late.number}),
        ({"assigned": "unassigned"}, {unassigned.number, escalated.number, phone.number}),
        ({"assigned": "my_teams"}, everyone - {escalated.number}),  # the agent is on first line only
        ({"team__id__exact": Ticket.objects.get(pk=escalated.pk).team_id}, {escalated.number}),
        ({"channel__exact": "phone"}, {phone.number}),
        ({"priority__exact": "high"}, {phone.number}),
        ({"category__exact": "complaint"}, {unassigned.number}),
        ({"status": "open"}, {escalated.number, late.number}),  # accepted by escalating or answering
        ({"status": "new"}, {mine.number, unassigned.number, phone.number}),
        ({"state": "open"}, everyone),
        ({"breached": "yes"}, {late.number}),
        ({"q": other_customer.email}, {phone.number}),
        ({"q": mine.number}, {mine.number}),
        ({"q": "Escalated"}, {escalated.number}),
    ]
    for params, expected in expectations:
        response = client.get(QUEUE, params)
        assert response.status_code == 200, params
        assert set(listed(response)) == expected, params
    # Still unanswered at 11:05: flagged breached now.
    breached_now = set(listed(client.get(QUEUE, {"sla_flag__exact": SlaFlag.BREACHED})))
    assert breached_now == set()  # nothing swept yet: the flags are set by the sweeper and the services
    tickets.assign(case=unassigned, actor=agent, assignee=agent)  # a write refreshes the clock
    assert set(listed(client.get(QUEUE, {"sla_flag__exact": SlaFlag.BREACHED}))) == {unassigned.number}


def test_the_queue_does_not_query_per_row(client, agent, technician, teams, django_assert_max_num_queries, at_work):
    _first, technical = teams

    def add(count):
        for n in range(count):
            customer = factories.CustomerFactory()
            order = factories.order_with_lines(customer=customer)
            case = tickets.open_ticket(
                customer=customer, actor=customer, subject=f"Q {n}", body="?", category="usage", order=order
            )
            tickets.assign(case=case, actor=agent, assignee=technician if n % 2 else agent, team=technical)

    add(2)
    client.force_login(agent)
    with CaptureQueriesContext(connection) as few:
        assert client.get(QUEUE).status_code == 200
    add(10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(QUEUE)
    assert len(listed(response)) == 12


def test_the_dashboard_index_links_to_the_desk(client, agent):
    client.force_login(agent)
    page = client.get(reverse("admin:index")).text
    for label, href in [
        ("My tickets", f"{QUEUE}?assigned=me&amp;state=open"),
        ("Team queue", f"{QUEUE}?assigned=my_teams&amp;state=open"),
        ("Breached", f"{QUEUE}?sla_flag__exact=breached"),
        ("SLA statistics", reverse("admin:techsupport_ticket_stats")),
    ]:
        assert f'href="{href}"' in page and label in page, label


def test_finance_staff_are_kept_off_the_desk(client, customer, open_ticket, at_work):
    case = open_ticket()
    finance = factories.StaffFactory(role="finance")
    client.force_login(finance)
    assert client.get(QUEUE).status_code == 403
    assert client.get(page_url(case)).status_code == 403
    assert client.get(reverse("admin:techsupport_ticket_stats")).status_code == 403
    assert client.get(reverse("admin:techsupport_ticket_add")).status_code == 403
    assert client.post(action_url(case, "reply"), {"body": "Hello"}).status_code == 403
    assert client.post(action_url(case, "close"), {"version": "1"}).status_code == 403
    assert Case.objects.get(pk=case.pk).status == "new"


# --- The ticket page ---------------------------------------------------------------------------------


def test_the_ticket_page_shows_the_header_the_conversation_and_the_customer(
    client, agent, customer, open_ticket, at_work
):
    order = factories.order_with_lines(customer=customer)
    older = factories.open_case(customer=customer, order=order)
    case = open_ticket(order=order, photos=[photo()], body="It fails to pair, see the photo.")
    tickets.reply(case=case, actor=agent, body="Only for staff: check the firmware log", public=False)
    tickets.reply(case=case, actor=agent, body="Please try resetting it.")
    client.force_login(agent)
    response = client.get(page_url(case))
    assert response.status_code == 200
    page = response.text
    assert case.number in page and "App will not pair" in page
    assert "not answered yet" not in page and "answered" in page  # the first response is met
    # The conversation: the customer's message with its photo, the internal note highlighted.
    assert re.search(r'class="entry entry-customer"[^>]*>.*?It fails to pair.*?<img src="/', page, re.S)
    assert "entry-system" not in page  # the photo's own "added" line is not repeated
    assert re.search(r'class="entry entry-note"[^>]*>.*?Only for staff', page, re.S)
    assert re.search(r'class="entry entry-agent"[^>]*>.*?Please try resetting it', page, re.S)
    # The customer panel: tier, orders and other cases, linked.
    assert 'id="customer-tier">Standard<' in page
    assert reverse("admin:orders_order_change", args=[order.pk]) in page
    assert reverse("admin:cases_case_change", args=[older.pk]) in page and older.number in page
    # The forms an agent may use; no repair form (technicians only).
    for form_id in ("ticket-reply", "ticket-assign", "ticket-triage", "ticket-escalate", "ticket-resolve"):
        assert f'id="{form_id}"' in page, form_id
    assert 'id="ticket-repair"' not in page
    assert 'id="ticket-reopen"' not in page
    # The picker's script is a static file; no inline script on the page's body.
    assert "techsupport/desk.js" in page


def test_the_customer_panel_costs_one_query_each(client, agent, customer, open_ticket, at_work):
    def page_queries():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page_url(case)).status_code == 200
        return len(queries.captured_queries)

    case = open_ticket()
    client.force_login(agent)
    before = page_queries()
    for _ in range(3):
        order = factories.order_with_lines(customer=customer)
        factories.open_case(customer=customer, order=order)
    assert page_queries() == before


def test_a_public_reply_that_waits_for_the_customer(client, agent, open_ticket, at_work):
    case = open_ticket()
    client.force_login(agent)
    response = post_form(client, case, "ticket-reply", body="Which model is it?", then="ask_customer")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "waiting_on_customer" and case.assignee == agent
    assert notices(response) == [f"Ticket {case.number} is now: Waiting for your reply."]
    assert client.get(QUEUE).text.count("paused") >= 1


def test_an_internal_note_stays_internal(client, agent, open_ticket, at_work):
    case = open_ticket()
    client.force_login(agent)
    response = post_form(client, case, "ticket-reply", body="Known issue #42", visibility="note")
    assert notices(response) == ["The internal note was added."]
    event = case.events.order_by("-id").first()
    assert event.note == "Known issue #42" and not event.public
    assert Ticket.objects.get(pk=case.pk).first_responded_at is None  # a note is no answer
    # A note cannot move the ticket on: refused as a message.
    response = post_form(client, case, "ticket-reply", body="x", visibility="note", then="resolve")
    assert notices(response) == ["Some fields are not valid. Only a reply to the customer can move the ticket on."]


def test_r_sup_4_a_public_reply_carries_images_for_the_customer(client, agent, customer, open_ticket, at_work):
    case = open_ticket()
    client.force_login(agent)
    response = post_form(client, case, "ticket-reply", body="Press these two buttons.", photos=[photo()])
    assert notices(response) == ["The reply was sent to the customer."]
    [image] = case.attachments.all()
    assert image.uploaded_by == agent and image.original_name == "parcel.png"
    client.force_login(customer)
    assert client.get(reverse("portal:attachment-download", args=[image.pk])).status_code == 200
    # An internal note takes no images: they would show on the customer's page.
    client.force_login(agent)
    response = post_form(client, case, "ticket-reply", body="see", visibility="note", photos=[photo()])
    assert notices(response) == ["Some fields are not valid. Images are sent with a reply to the customer."]
    assert case.attachments.count() == 1


def test_an_empty_reply_is_refused_with_a_message(client, agent, open_ticket, at_work):
    case = open_ticket()
    client.force_login(agent)
    response = post_form(client, case, "ticket-reply", body="  ")
    assert notices(response) == ["Some fields are not valid. Write the reply."]


def test_canned_replies_are_filled_for_the_ticket(client, agent, customer, open_ticket, at_work):
    customer.full_name = "Li Wei"
    customer.save()
    order = factories.order_with_lines(customer=customer)
    product = order.lines.get().product
    case = open_ticket(order=order, product=product)
    agent.full_name = "Zhang Min"
    agent.save()
    macro = CannedReply.objects.create(
        title="Reset",
        body="Hello {customer}, about {number} ({order}, {product}): please reset it. {agent} {unknown}",
        then=CannedReply.Then.ASK_CUSTOMER,
    )
    CannedReply.objects.create(title="Complaint only", body="Sorry", category="complaint")
    CannedReply.objects.create(title="Retired", body="Old", active=False)
    expected = (
        f"Hello Li Wei, about {case.number} ({order.number}, {product.name}): please reset it. Zhang Min {{unknown}}"
    )
    assert render_canned(macro, case, agent) == expected
    client.force_login(agent)
    page = client.get(page_url(case)).text
    data = json.loads(re.search(r'<script id="canned-replies" type="application/json">(.*?)</script>', page).group(1))
    assert data == [{"id": macro.pk, "title": "Reset", "body": expected, "then": "ask_customer"}]
    # Without the script, choosing the reply sends it as it is.
    response = post_form(client, case, "ticket-reply", canned=str(macro.pk), then="ask_customer")
    assert response.status_code == 302
    assert case.events.filter(public=True, note=expected).exists()
    assert Case.objects.get(pk=case.pk).status == "waiting_on_customer"


def test_assign_and_triage(client, agent, technician, teams, open_ticket, at_work):
    _first, technical = teams
    case = open_ticket()
    client.force_login(agent)
    response = post_form(client, case, "ticket-assign", assignee=str(technician.pk), team=str(technical.pk))
    assert notices(response) == [f"Ticket {case.number}: assigned to {technician}."]
    ticket = Ticket.objects.select_related("case").get(pk=case.pk)
    assert ticket.case.assignee == technician and ticket.team == technical
    # A customer is not someone who works tickets: refused by the service.
    response = post_form(client, case, "ticket-assign", assignee=str(case.customer_id))
    assert notices(response) == ["Some fields are not valid. Choose a member of staff who works tickets."]
    response = post_form(client, case, "ticket-triage", priority="urgent", category="fault")
    assert notices(response) == [f"Ticket {case.number}: priority and category saved."]
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.category) == ("urgent", "fault")
    response = post_form(client, case, "ticket-triage", priority="sky-high")
    assert notices(response) == ["Some fields are not valid. Choose a priority."]


def test_escalating_twice_is_refused_by_rule_r_sup_2(client, agent, teams, open_ticket, at_work):
    _first, technical = teams
    case = open_ticket()
    client.force_login(agent)
    page = client.get(page_url(case)).text
    stale = form_data(page, "ticket-escalate")
    response = post_form(client, case, "ticket-escalate", reason="Needs a firmware engineer")
    assert notices(response) == [f"Ticket {case.number} was escalated to technical support."]
    ticket = Ticket.objects.get(pk=case.pk)
    assert ticket.team == technical and ticket.escalated_at is not None
    assert 'id="ticket-escalate"' not in client.get(page_url(case)).text  # on tier 2 now
    # A second post (another tab): refused, with the rule, as a message.
    stale.update(reason="Again", version=str(Case.objects.get(pk=case.pk).version))
    response = client.post(action_url(case, "escalate"), stale)
    assert response.status_code == 302
    assert notices(response) == ["The ticket is already with technical support. (R-SUP-2)"]


def test_a_step_posted_from_an_outdated_page_is_refused(client, agent, open_ticket, at_work):
    case = open_ticket()
    client.force_login(agent)
    page = client.get(page_url(case)).text
    outdated = form_data(page, "ticket-close")
    tickets.reply(case=case, actor=agent, body="Fixed?", then="ask_customer")  # moves the case on
    response = client.post(action_url(case, "close"), outdated)
    assert notices(response) == ["The case was changed by someone else meanwhile. Reload and try again."]
    assert Case.objects.get(pk=case.pk).status == "waiting_on_customer"


def test_resolve_reopen_and_close(client, agent, open_ticket, at_work):
    case = open_ticket()
    client.force_login(agent)
    response = post_form(client, case, "ticket-resolve", note="Resetting it solved it.")
    assert notices(response) == [f"Ticket {case.number} is now: Resolved."]
    assert case.events.filter(public=True, note="Resetting it solved it.").exists()
    page = client.get(page_url(case)).text
    assert 'id="ticket-resolve"' not in page and 'id="ticket-reopen"' in page
    response = post_form(client, case, "ticket-reopen", note="It came back")
    assert notices(response) == [f"Ticket {case.number} is now: In progress."]
    response = post_form(client, case, "ticket-close")
    assert notices(response) == [f"Ticket {case.number} is now: Closed."]
    page = client.get(page_url(case)).text
    assert 'id="ticket-reply"' not in page and 'id="ticket-close"' not in page
    # A closed ticket takes no more replies: refused as a message, not an error page.
    response = client.post(action_url(case, "reply"), {"body": "Hello?"})
    assert response.status_code == 302
    assert notices(response) == ["The ticket is closed."]


def test_a_technician_opens_a_repair_linked_on_both_timelines(client, technician, customer, open_ticket, at_work):
    tv = tv_order_for(customer, days_ago=20)
    line = tv.lines.get()
    case = open_ticket(category="fault", order=tv)
    client.force_login(technician)
    page = client.get(page_url(case)).text
    assert 'id="ticket-repair"' in page and line.product_name in page
    response = post_form(
        client,
        case,
        "ticket-repair",
        line=str(line.pk),
        fault="display",
        description="Black screen after ten minutes",
        remedy="repair",
        mode="ship_in",
        documents=ALL_DOCUMENTS,
    )
    repair = Case.objects.get(kind=CaseKind.WARRANTY, customer=customer)
    assert notices(response) == [f"{repair.number} was opened for {line.product_name}."]
    assert list(Ticket.objects.get(pk=case.pk).linked_cases.all()) == [repair]
    assert repair.events.filter(data__linked_case=case.number).exists()
    page = client.get(page_url(case)).text
    assert reverse("admin:cases_case_change", args=[repair.pk]) in page  # the header's link
    assert f"Opened {repair.number} for" in page  # and the ticket's timeline


def test_the_repair_form_is_for_technicians_only(client, agent, customer, open_ticket, at_work):
    tv = tv_order_for(customer, days_ago=20)
    case = open_ticket(category="fault", order=tv)
    client.force_login(agent)
    assert 'id="ticket-repair"' not in client.get(page_url(case)).text
    response = client.post(
        action_url(case, "repair"),
        {"line": tv.lines.get().pk, "fault": "display", "description": "x", "remedy": "repair", "mode": "ship_in"},
    )
    assert response.status_code == 302
    assert notices(response) == ["You are not allowed to do this."]
    assert not Case.objects.filter(kind=CaseKind.WARRANTY).exists()


def test_another_customers_item_is_refused(client, technician, other_customer, open_ticket, at_work):
    theirs = tv_order_for(other_customer, days_ago=20)
    case = open_ticket(category="fault")
    client.force_login(technician)
    response = client.post(
        action_url(case, "repair"),
        {"line": theirs.lines.get().pk, "fault": "display", "description": "x", "remedy": "repair"},
    )
    assert notices(response) == ["Some fields are not valid. Choose an item the customer bought."]


# --- Logging a contact (R-SUP-1) --------------------------------------------------------------------


def test_an_agent_logs_a_phone_call_as_a_ticket(client, agent, customer, teams, at_work):
    order = factories.order_with_lines(customer=customer)
    client.force_login(agent)
    add = reverse("admin:techsupport_ticket_add")
    page = client.get(add)
    assert page.status_code == 200 and 'data-field-name="customer"' in page.text  # the autocomplete picker
    response = client.post(
        add,
        {
            "customer": customer.pk,
            "channel": "phone",
            "category": "fault",
            "priority": "high",
            "subject": "Phone: no sound",
            "body": "The customer called: no sound since the update.",
            "order": order.number,
        },
    )
    case = Case.objects.get(kind=CaseKind.TICKET, subject="Phone: no sound")
    assert response.status_code == 302 and response["Location"] == page_url(case)
    ticket = Ticket.objects.get(pk=case.pk)
    assert (ticket.channel, ticket.priority, ticket.category) == ("phone", "high", "fault")
    assert case.customer == customer and case.order == order
    assert case.events.get(type="opened").actor == agent


def test_logging_a_contact_with_a_foreign_order_or_a_staff_customer_is_refused(
    client, agent, customer, other_customer, teams
):
    theirs = factories.order_with_lines(customer=other_customer)
    client.force_login(agent)
    add = reverse("admin:techsupport_ticket_add")
    base = {"channel": "chat", "category": "usage", "priority": "normal", "subject": "Chat", "body": "Hi"}
    response = client.post(add, {**base, "customer": customer.pk, "order": theirs.number})
    assert response.status_code == 200
    assert response.context["form"].errors["order"] == ["This is not one of the customer's orders."]
    response = client.post(add, {**base, "customer": agent.pk})
    assert "customer" in response.context["form"].errors
    assert not Case.objects.filter(kind=CaseKind.TICKET).exists()


def test_the_customer_picker_offers_customers_only(client, agent, customer):
    client.force_login(agent)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "cases", "model_name": "case", "field_name": "customer", "term": "@example.com"},
    )
    assert response.status_code == 200
    ids = {int(result["id"]) for result in response.json()["results"]}
    assert customer.pk in ids and agent.pk not in ids
