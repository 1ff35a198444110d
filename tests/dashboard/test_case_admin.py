"""The case page of the dashboard: timeline, transition buttons, notes; status only moves by service."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from aftersales.cases import services
from aftersales.cases.models import Case, CaseEvent, CaseKind
from aftersales.common.errors import InvalidTransition
from tests import factories

from .conftest import form_data

pytestmark = pytest.mark.django_db


def change_url(case) -> str:
    return reverse("admin:cases_case_change", args=[case.pk])


def transition_url(case) -> str:
    return reverse("admin:cases_case_transition", args=[case.pk])


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def case(customer, plain_flow):
    """A case whose steps are plain moves, taken with the case page's buttons."""
    order = factories.order_with_lines(customer=customer)
    return factories.open_case(customer=customer, order=order, kind=CaseKind.TICKET, note="The screen arrived cracked.")


def test_the_case_page_shows_the_timeline_and_the_staff_steps(client, agent, case):
    client.force_login(agent)
    response = client.get(change_url(case))
    assert response.status_code == 200
    page = response.text
    assert "Timeline" in page
    assert "The screen arrived cracked." in page  # the opening event's note
    assert "Submitted" in page  # the status label, not the code
    # Staff steps from "submitted": accept and reject, nothing else.
    assert 'name="name" value="accept"' in page
    assert 'name="name" value="reject"' in page
    assert 'name="name" value="receive"' not in page
    assert f'name="version" value="{case.version}"' in page


def test_posting_a_transition_moves_the_case_and_records_the_staff_user(client, agent, case):
    client.force_login(agent)
    response = client.post(
        transition_url(case), {"name": "accept", "version": case.version, "note": "Please ship it back."}
    )
    assert response.status_code == 302
    assert response["Location"] == change_url(case)
    case.refresh_from_db()
    assert case.status == "accepted"
    event = CaseEvent.objects.filter(case=case, type=CaseEvent.Type.TRANSITION).get()
    assert event.actor == agent
    assert (event.from_status, event.to_status) == ("submitted", "accepted")
    assert event.note == "Please ship it back."
    assert any("Accepted" in text for text in message_texts(response))
    # The page now offers the next steps.
    page = client.get(change_url(case)).text
    assert 'name="name" value="receive"' in page
    assert 'name="name" value="accept"' not in page


def test_a_step_not_open_from_the_status_is_refused_with_a_message(client, agent, case):
    client.force_login(agent)
    response = client.post(transition_url(case), {"name": "receive", "version": case.version}, follow=True)
    assert response.status_code == 200
    messages = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert messages == [("error", str(InvalidTransition.default_message))]
    assert 'class="error"' in response.text
    case.refresh_from_db()
    assert case.status == "submitted"
    assert not CaseEvent.objects.filter(case=case, type=CaseEvent.Type.TRANSITION).exists()


def test_a_system_or_unknown_step_is_refused(client, agent, case):
    client.force_login(agent)
    services.transition(case=case, name="accept")
    case.refresh_from_db()
    for name in ("expire", "cancel", "no-such-step"):
        response = client.post(transition_url(case), {"name": name, "version": case.version}, follow=True)
        assert response.status_code == 200, name
        assert response.context["messages"], name
        assert [m.level_tag for m in response.context["messages"]] == ["error"], name
    case.refresh_from_db()
    assert case.status == "accepted"


def test_a_page_rendered_before_someone_else_moved_the_case_conflicts(client, agent, supervisor, case):
    client.force_login(agent)
    stale_version = case.version
    client.get(change_url(case))
    # Meanwhile a supervisor rejects it…
    services.transition(case=Case.objects.get(pk=case.pk), name="reject", actor=supervisor)
    # …and the agent's "accept" from the old page must not go through.
    response = client.post(transition_url(case), {"name": "accept", "version": stale_version}, follow=True)
    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    case.refresh_from_db()
    assert case.status == "rejected"


def test_a_stale_version_with_the_same_status_is_a_conflict(client, agent, case):
    client.force_login(agent)
    response = client.post(transition_url(case), {"name": "accept", "version": case.version + 5}, follow=True)
    assert any("changed by someone else" in text for text in (str(m) for m in response.context["messages"]))
    case.refresh_from_db()
    assert case.status == "submitted"


def test_finance_cannot_move_a_case(client, case):
    finance = factories.StaffFactory(role="finance")
    client.force_login(finance)
    response = client.post(transition_url(case), {"name": "accept", "version": case.version}, follow=True)
    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    case.refresh_from_db()
    assert case.status == "submitted"


def test_the_transition_view_accepts_only_post(client, agent, case):
    client.force_login(agent)
    assert client.get(transition_url(case)).status_code == 405


def test_a_customer_cannot_post_a_transition(client, customer, case):
    client.force_login(customer)
    response = client.post(transition_url(case), {"name": "cancel", "version": case.version})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    case.refresh_from_db()
    assert case.status == "submitted"


def test_the_status_cannot_be_changed_through_the_form(client, agent, case):
    client.force_login(agent)
    page = client.get(change_url(case)).text
    assert 'name="status"' not in page
    data = form_data(page, "case_form")
    assert "csrfmiddlewaretoken" in data
    data.update(
        subject="Cracked screen",
        assignee=str(agent.pk),
        status="completed",
        number="HACKED-1",
        version="99",
        kind="ticket",
        deadline_action="expire_unshipped",
    )
    response = client.post(change_url(case), data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    case.refresh_from_db()
    assert case.subject == "Cracked screen"
    assert case.assignee == agent
    assert (case.status, case.kind, case.version) == ("submitted", "ticket", 1)
    assert case.number.startswith("TKT-")
    assert case.deadline_action == ""


def test_a_staff_note_is_internal_unless_marked_public(client, agent, case):
    client.force_login(agent)
    note_url = reverse("admin:cases_case_note", args=[case.pk])
    client.post(note_url, {"note": "Checked the courier photos."}, follow=True)
    client.post(note_url, {"note": "We will call you tomorrow.", "public": "1"}, follow=True)
    notes = list(CaseEvent.objects.filter(case=case, type=CaseEvent.Type.NOTE).order_by("id"))
    assert [(n.note, n.public, n.actor) for n in notes] == [
        ("Checked the courier photos.", False, agent),
        ("We will call you tomorrow.", True, agent),
    ]
    response = client.post(note_url, {"note": "   "}, follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert CaseEvent.objects.filter(case=case, type=CaseEvent.Type.NOTE).count() == 2


def test_the_assignee_picker_offers_active_staff_only(client, agent, customer, case):
    client.force_login(agent)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "cases", "model_name": "case", "field_name": "assignee", "term": ""},
    )
    assert response.status_code == 200
    ids = {int(row["id"]) for row in response.json()["results"]}
    assert agent.pk in ids
    assert customer.pk not in ids


def test_a_returns_staff_steps_are_taken_on_its_request_page_not_with_generic_buttons(client, agent, customer):
    """Approving a return sets the ship deadline; inspecting queues the refund: a bare status move
    from the case page would skip that, so it is refused and the page links to the request page."""
    order = factories.order_with_lines(customer=customer)
    case = factories.open_case(customer=customer, order=order)
    client.force_login(agent)
    page = client.get(change_url(case)).text
    assert 'name="name" value="approve"' not in page
    assert reverse("admin:returns_returnrequest_change", args=[case.pk]) in page
    response = client.post(transition_url(case), {"name": "approve", "version": case.version}, follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    case.refresh_from_db()
    assert case.status == "submitted"
