"""R-FB-1 in the dashboard: the follow-ups list and page (complete, hand over), the follow-up call
form on the case page, and the ratings list with its reason."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aftersales.cases import followups, services
from aftersales.cases.models import CaseEvent, Feedback, FollowUp
from tests import factories

from .conftest import form_data

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:cases_followup_changelist"


def closed_case(customer):
    case = factories.open_case(customer=customer)
    return services.transition(case=case, name="cancel", actor=customer)


def low_rated(customer, *, rating=1, comment="Nobody called me back"):
    case = closed_case(customer)
    services.leave_feedback(case=case, customer=customer, rating=rating, reason="staff", comment=comment)
    return FollowUp.objects.get(case=case)


def page_url(follow_up) -> str:
    return reverse("admin:cases_followup_change", args=[follow_up.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def finance(db):
    return factories.StaffFactory(role="finance")


def test_R_FB_1_the_list_puts_open_follow_ups_first_with_case_rating_and_comment(client, supervisor, customer, agent):
    done = low_rated(customer, comment="Done one")
    followups.complete_follow_up(follow_up=done, actor=supervisor, outcome="Sorted")
    later = low_rated(customer, comment="Later one")
    sooner = low_rated(customer, comment="Sooner one")
    FollowUp.objects.filter(pk=sooner.pk).update(due_at=later.due_at - timedelta(hours=3))
    call = followups.log_follow_up_call(case=closed_case(customer), actor=agent, outcome="Rang, all good")

    client.force_login(supervisor)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    page = response.text
    positions = [page.index(f">{f.case.number}<") for f in (sooner, later, call, done)]
    assert positions[:2] == sorted(positions[:2]) and max(positions[:2]) < min(positions[2:])
    assert "Sooner one" in page and "1/5" in page
    assert reverse("admin:cases_case_change", args=[sooner.case_id]) in page

    for params, listed, not_listed in [
        ({"state": "open"}, {sooner, later}, {done, call}),
        ({"state": "done"}, {done, call}, {sooner, later}),
        ({"state": "overdue"}, set(), {sooner, later, done}),
        ({"kind__exact": "call"}, {call}, {sooner, done}),
        ({"kind__exact": "task"}, {sooner, later, done}, {call}),
        ({"q": sooner.case.number}, {sooner}, {later}),
    ]:
        response = client.get(reverse(CHANGELIST), params)
        assert response.status_code == 200, params
        assert all(f">{f.case.number}<" in response.text for f in listed), params
        assert not any(f">{f.case.number}<" in response.text for f in not_listed), params


def test_R_FB_1_a_supervisor_completes_a_follow_up_from_its_page(client, supervisor, customer):
    task = low_rated(customer)
    client.force_login(supervisor)
    page = client.get(page_url(task)).text
    assert 'id="follow-up-complete"' in page and "Nobody called me back" in page
    data = form_data(page, "follow-up-complete")
    assert set(data) == {"csrfmiddlewaretoken", "complete-outcome"}

    empty = client.post(reverse("admin:cases_followup_complete", args=[task.pk]), {"complete-outcome": " "})
    assert empty.status_code == 302 and messages_of(empty) == ["This field is required."]
    task.refresh_from_db()
    assert task.done_at is None

    url = reverse("admin:cases_followup_complete", args=[task.pk])
    response = client.post(url, {"complete-outcome": "Called, apologised, coupon sent"})
    assert response.status_code == 302 and response["Location"] == page_url(task)
    task.refresh_from_db()
    assert task.done_by == supervisor and task.outcome == "Called, apologised, coupon sent"
    assert task.case.events.filter(type=CaseEvent.Type.NOTE, public=False, data__done=True).exists()

    again = client.post(url, {"complete-outcome": "Twice"})
    assert "This follow-up is done already." in messages_of(again)
    task.refresh_from_db()
    assert task.outcome == "Called, apologised, coupon sent"
    assert 'id="follow-up-complete"' not in client.get(page_url(task)).text


def test_R_FB_1_a_supervisor_hands_a_follow_up_over(client, supervisor, customer, agent):
    task = low_rated(customer)
    colleague = factories.StaffFactory(role="supervisor")
    client.force_login(supervisor)
    page = client.get(page_url(task)).text
    assert f'value="{colleague.pk}"' in page and f'value="{agent.pk}"' not in page  # only who can complete it
    url = reverse("admin:cases_followup_assign", args=[task.pk])
    client.post(url, {"assign-assignee": colleague.pk})
    task.refresh_from_db()
    assert task.assignee == colleague
    refused = client.post(url, {"assign-assignee": agent.pk})
    assert refused.status_code == 302 and "That choice is not one of the available choices." in messages_of(refused)[-1]
    task.refresh_from_db()
    assert task.assignee == colleague


def test_R_FB_1_an_agent_logs_a_call_from_the_case_page(client, agent, customer):
    case = closed_case(customer)
    services.leave_feedback(case=case, customer=customer, rating=4)
    client.force_login(agent)
    page = client.get(reverse("admin:cases_case_change", args=[case.pk])).text
    assert 'id="follow-up-call-form"' in page and "4/5" in page
    data = form_data(page, "follow-up-call-form")
    assert {"call-outcome", "call-rating_confirmed"} <= set(data)
    url = reverse("admin:cases_case_follow_up_call", args=[case.pk])

    refused = client.post(url, {**data, "call-outcome": ""})
    assert refused.status_code == 302
    assert messages_of(refused) == ["The call was not logged: This field is required."]
    assert not FollowUp.objects.exists()

    response = client.post(url, {**data, "call-outcome": "Customer is happy", "call-rating_confirmed": "yes"})
    assert response.status_code == 302
    assert "The follow-up call was logged." in messages_of(response)
    call = FollowUp.objects.get(case=case)
    assert call.kind == FollowUp.Kind.CALL and call.done_by == agent and "confirmed their rating" in call.outcome
    # The call is listed on the case page, and the agent sees it in the follow-ups list.
    assert "Customer is happy" in client.get(reverse("admin:cases_case_change", args=[case.pk])).text
    assert f">{case.number}<" in client.get(reverse(CHANGELIST)).text


def test_R_FB_1_agents_see_follow_ups_but_do_not_complete_them(client, agent, customer):
    task = low_rated(customer)
    client.force_login(agent)
    page = client.get(page_url(task))
    assert page.status_code == 200 and 'id="follow-up-complete"' not in page.text
    response = client.post(reverse("admin:cases_followup_complete", args=[task.pk]), {"complete-outcome": "Done"})
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.done_at is None


def test_R_FB_1_finance_staff_are_refused_the_follow_up_pages_and_forms(client, finance, customer):
    task = low_rated(customer)
    client.force_login(finance)
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(page_url(task)).status_code == 403
    assert (
        client.post(reverse("admin:cases_followup_complete", args=[task.pk]), {"complete-outcome": "x"}).status_code
        == 403
    )
    assert client.post(reverse("admin:cases_followup_assign", args=[task.pk]), {}).status_code == 403
    call_url = reverse("admin:cases_case_follow_up_call", args=[task.case_id])
    assert client.post(call_url, {"call-outcome": "x"}).status_code == 403
    case_page = client.get(reverse("admin:cases_case_change", args=[task.case_id])).text
    assert 'id="follow-up-call-form"' not in case_page
    task.refresh_from_db()
    assert task.done_at is None and FollowUp.objects.count() == 1


def test_R_FB_1_the_ratings_list_shows_the_reason_and_filters_by_rating_and_reason(client, supervisor, customer):
    low = closed_case(customer)
    services.leave_feedback(case=low, customer=customer, rating=2, reason="policy")
    high = closed_case(customer)
    services.leave_feedback(case=high, customer=customer, rating=5, reason="speed")
    client.force_login(supervisor)
    url = reverse("admin:cases_feedback_changelist")
    page = client.get(url).text
    assert "The rules or the decision" in page and "How fast it went" in page
    for params, listed, not_listed in [
        ({"rating": "2"}, low, high),
        ({"reason__exact": "speed"}, high, low),
        ({"reason__exact": "policy"}, low, high),
    ]:
        response = client.get(url, params)
        assert response.status_code == 200, params
        assert f">{listed.number}<" in response.text and f">{not_listed.number}<" not in response.text, params
    assert Feedback.objects.count() == 2


def test_the_follow_ups_list_does_not_query_per_row(client, supervisor, customer, django_assert_max_num_queries):
    client.force_login(supervisor)
    for _ in range(2):
        low_rated(customer)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse(CHANGELIST)).status_code == 200
    for _ in range(6):
        low_rated(customer)
    FollowUp.objects.update(assignee=supervisor, due_at=timezone.now() - timedelta(hours=1))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse(CHANGELIST)).status_code == 200
