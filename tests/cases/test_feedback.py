"""R-FB-1: customers rate closed cases (1–5) with what mattered most; a low rating reopens the case
where its kind can, or opens a supervisor follow-up task; agents log follow-up calls (回访)."""

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from aftersales.cases import followups, selectors, services, workflow
from aftersales.cases.models import Case, CaseEvent, CaseKind, Feedback, FollowUp, Notification
from aftersales.common.errors import NotAllowed, TransitionConflict, ValidationFailed
from tests import factories

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def closed_case(customer, kind=CaseKind.RETURN):
    case = factories.open_case(customer=customer, kind=kind)
    return services.transition(case=case, name="cancel", actor=customer)


@pytest.fixture
def hooked_flow(plain_flow, monkeypatch):
    """The test ticket kind, with an `on_low_rating` hook that records its calls."""
    calls = []

    def on_low_rating(*, case, feedback):
        calls.append(
            {"case": case, "feedback": feedback, "in_transaction": transaction.get_connection().in_atomic_block}
        )

    flow = dataclasses.replace(plain_flow, on_low_rating=on_low_rating)
    monkeypatch.setitem(workflow._registry, CaseKind.TICKET, flow)
    return calls


# --- Rating and its reason -------------------------------------------------------------------


def test_R_FB_1_reason_is_required_up_to_3_and_must_be_a_listed_one(customer):
    case = closed_case(customer)
    with pytest.raises(ValidationFailed) as missing:
        services.leave_feedback(case=case, customer=customer, rating=3)
    assert set(missing.value.fields) == {"reason"}
    with pytest.raises(ValidationFailed) as unknown:
        services.leave_feedback(case=case, customer=customer, rating=5, reason="weather")
    assert set(unknown.value.fields) == {"reason"}
    with pytest.raises(ValidationFailed) as both:
        services.leave_feedback(case=case, customer=customer, rating=0, reason="weather")
    assert set(both.value.fields) == {"rating", "reason"}
    assert not Feedback.objects.exists()

    feedback = services.leave_feedback(case=case, customer=customer, rating=3, reason="speed", comment=" Slow ")
    assert (feedback.rating, feedback.reason, feedback.comment) == (3, "speed", "Slow")
    event = case.events.get(type=CaseEvent.Type.FEEDBACK)
    assert event.data == {"rating": 3, "reason": "speed"} and event.actor == customer and event.public


def test_R_FB_1_reason_is_optional_above_3(customer):
    feedback = services.leave_feedback(case=closed_case(customer), customer=customer, rating=4)
    assert feedback.reason == ""


def test_R_FB_1_one_rating_per_case_even_posted_twice(customer, supervisor):
    case = closed_case(customer)
    services.leave_feedback(case=case, customer=customer, rating=1, reason="staff")
    with pytest.raises(ValidationFailed):
        services.leave_feedback(case=case, customer=customer, rating=1, reason="staff")
    assert Feedback.objects.filter(case=case).count() == 1
    assert FollowUp.objects.filter(case=case).count() == 1


def test_R_FB_1_only_the_customer_rates_and_only_a_closed_case(customer, other_customer):
    case = factories.open_case(customer=customer)
    with pytest.raises(ValidationFailed):
        services.leave_feedback(case=case, customer=customer, rating=5)
    case = services.transition(case=case, name="cancel", actor=customer)
    with pytest.raises(NotAllowed):
        services.leave_feedback(case=case, customer=other_customer, rating=5)


# --- What a low rating does ------------------------------------------------------------------


def test_R_FB_1_low_rating_without_hook_opens_a_task_and_tells_supervisors_after_commit(
    customer, supervisor, agent, mailoutbox, django_capture_on_commit_callbacks
):
    second_supervisor = factories.StaffFactory(role="supervisor")
    factories.StaffFactory(role="supervisor", is_active=False)
    case = closed_case(customer)
    assert workflow.get(case.kind).on_low_rating is None
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        feedback = services.leave_feedback(
            case=case, customer=customer, rating=2, reason="outcome", comment="Still broken"
        )
    assert mailoutbox == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()

    task = FollowUp.objects.get(case=case)
    assert task.kind == FollowUp.Kind.TASK and task.feedback == feedback and task.done_at is None
    assert task.due_at == followups.due_after_low_rating(task.created_at)
    told = Notification.objects.filter(case=case).exclude(user=customer)
    assert {n.user for n in told} == {supervisor, second_supervisor}
    assert "2/5" in told.first().title
    assert sorted(m.to[0] for m in mailoutbox if case.number in m.subject and "2/5" in m.subject) == sorted(
        [supervisor.email, second_supervisor.email]
    )
    note = case.events.get(type=CaseEvent.Type.NOTE)
    assert not note.public and note.data["follow_up"] == task.pk
    assert note not in selectors.case_timeline(customer, case)


@pytest.mark.parametrize(
    ("rated_at", "due_at"),
    [
        # Friday mid-morning: the same working moment of the next business day, Monday.
        (datetime(2026, 3, 6, 10, 0, tzinfo=SH), datetime(2026, 3, 9, 10, 0, tzinfo=SH)),
        # Tuesday evening: a whole working day later, at Wednesday's close.
        (datetime(2026, 3, 10, 20, 0, tzinfo=SH), datetime(2026, 3, 11, 18, 0, tzinfo=SH)),
        # The make-up working Saturday before the 2026 Spring Festival (off 15–23 Feb), at 17:00: one
        # working hour that day, the other 6.5 on Tuesday 24 Feb.
        (datetime(2026, 2, 14, 17, 0, tzinfo=SH), datetime(2026, 2, 24, 17, 0, tzinfo=SH)),
    ],
)
def test_R_FB_1_the_task_is_due_one_business_day_later(customer, settings, rated_at, due_at):
    settings.BUSINESS_HOURS = "09:00-12:00,13:30-18:00"
    case = closed_case(customer)
    with time_machine.travel(rated_at, tick=False):
        services.leave_feedback(case=case, customer=customer, rating=1, reason="speed")
    assert FollowUp.objects.get(case=case).due_at == due_at


def test_R_FB_1_low_rating_on_a_kind_with_a_hook_calls_it_and_opens_no_task(customer, supervisor, hooked_flow):
    case = closed_case(customer, kind=CaseKind.TICKET)
    feedback = services.leave_feedback(case=case, customer=customer, rating=1, reason="outcome")
    assert len(hooked_flow) == 1
    assert hooked_flow[0]["case"] == case and hooked_flow[0]["feedback"] == feedback
    assert hooked_flow[0]["in_transaction"]
    assert not FollowUp.objects.exists()
    assert not Notification.objects.filter(user=supervisor).exists()


def test_R_FB_1_a_hook_can_reopen_the_case_in_the_rating_transaction(customer, plain_flow, monkeypatch):
    """What the support-ticket app's hook does: move the rated case on, from the version it gets."""
    reopen = workflow.Transition("reopen", frozenset({"cancelled"}), "submitted", allowed="system")

    def on_low_rating(*, case, feedback):
        services.transition(case=case, name="reopen", note=f"Rated {feedback.rating}/5")

    flow = dataclasses.replace(
        plain_flow, transitions={**plain_flow.transitions, "reopen": reopen}, on_low_rating=on_low_rating
    )
    monkeypatch.setitem(workflow._registry, CaseKind.TICKET, flow)
    case = closed_case(customer, kind=CaseKind.TICKET)
    stale = Case.objects.get(pk=case.pk)
    Case.objects.filter(pk=case.pk).update(version=case.version + 1)  # another write since the page was read
    services.leave_feedback(case=stale, customer=customer, rating=1, reason="outcome")
    case.refresh_from_db()
    assert case.status == "submitted" and case.closed_at is None
    assert case.events.filter(type=CaseEvent.Type.TRANSITION, data__transition="reopen").exists()
    assert not FollowUp.objects.exists()


def test_R_FB_1_a_failing_hook_takes_the_rating_back_with_it(customer, plain_flow, monkeypatch):
    def on_low_rating(*, case, feedback):
        raise RuntimeError("the ticket could not reopen")

    monkeypatch.setitem(
        workflow._registry, CaseKind.TICKET, dataclasses.replace(plain_flow, on_low_rating=on_low_rating)
    )
    case = closed_case(customer, kind=CaseKind.TICKET)
    with pytest.raises(RuntimeError):
        services.leave_feedback(case=case, customer=customer, rating=2, reason="staff")
    assert not Feedback.objects.filter(case=case).exists()
    assert not case.events.filter(type=CaseEvent.Type.FEEDBACK).exists()


@pytest.mark.parametrize(("rating", "reason"), [(3, "policy"), (4, ""), (5, "")])
def test_R_FB_1_a_rating_of_3_or_more_opens_nothing(customer, supervisor, hooked_flow, rating, reason):
    for kind in (CaseKind.RETURN, CaseKind.TICKET):
        services.leave_feedback(case=closed_case(customer, kind=kind), customer=customer, rating=rating, reason=reason)
    assert not FollowUp.objects.exists()
    assert hooked_flow == []
    assert not Notification.objects.filter(user=supervisor).exists()


def test_R_FB_1_the_low_rating_threshold_is_a_setting(customer, supervisor, settings):
    settings.FEEDBACK_LOW_RATING = 3
    services.leave_feedback(case=closed_case(customer), customer=customer, rating=3, reason="speed")
    assert FollowUp.objects.count() == 1
    settings.FEEDBACK_LOW_RATING = 0
    services.leave_feedback(case=closed_case(customer), customer=customer, rating=1, reason="speed")
    assert FollowUp.objects.count() == 1


# --- Follow-up calls and tasks ---------------------------------------------------------------


def test_R_FB_1_an_agent_logs_a_follow_up_call(customer, agent):
    case = closed_case(customer)
    services.leave_feedback(case=case, customer=customer, rating=4)
    call = followups.log_follow_up_call(case=case, actor=agent, outcome=" Happy now ", rating_confirmed=True)
    assert call.kind == FollowUp.Kind.CALL and call.done_by == agent and call.done_at is not None
    assert call.feedback == case.feedback and call.outcome.startswith("Happy now\n")
    assert "confirmed their rating of 4/5" in call.outcome
    note = case.events.get(type=CaseEvent.Type.NOTE)
    assert not note.public and note.actor == agent and "Happy now" in note.note
    assert note.data == {"follow_up": call.pk, "kind": "call", "rating_confirmed": True}
    assert note not in selectors.case_timeline(customer, case)


def test_R_FB_1_a_call_needs_an_outcome_a_rating_to_confirm_and_the_permission(customer, agent):
    case = closed_case(customer)
    with pytest.raises(ValidationFailed) as empty:
        followups.log_follow_up_call(case=case, actor=agent, outcome="  ")
    assert set(empty.value.fields) == {"outcome"}
    with pytest.raises(ValidationFailed) as unrated:
        followups.log_follow_up_call(case=case, actor=agent, outcome="Called", rating_confirmed=False)
    assert set(unrated.value.fields) == {"rating_confirmed"}
    for nobody in (customer, factories.StaffFactory(role="finance"), None):
        with pytest.raises(NotAllowed):
            followups.log_follow_up_call(case=case, actor=nobody, outcome="Called")
    call = followups.log_follow_up_call(case=case, actor=agent, outcome="Called, no answer")
    assert call.feedback is None and call.outcome == "Called, no answer"
    assert FollowUp.objects.count() == 1


def low_rated_task(customer):
    case = closed_case(customer)
    services.leave_feedback(case=case, customer=customer, rating=1, reason="staff", comment="Rude")
    return FollowUp.objects.get(case=case)


def test_R_FB_1_completing_a_follow_up_twice_is_a_conflict(customer, supervisor):
    task = low_rated_task(customer)
    stale = FollowUp.objects.get(pk=task.pk)
    with pytest.raises(ValidationFailed):
        followups.complete_follow_up(follow_up=task, actor=supervisor, outcome=" ")
    done = followups.complete_follow_up(follow_up=task, actor=supervisor, outcome="Apologised, coupon sent")
    assert done.done_by == supervisor and done.done_at is not None and done.outcome == "Apologised, coupon sent"
    with pytest.raises(TransitionConflict):
        followups.complete_follow_up(follow_up=stale, actor=factories.StaffFactory(role="supervisor"), outcome="Also")
    stale.refresh_from_db()
    assert stale.outcome == "Apologised, coupon sent"
    notes = task.case.events.filter(type=CaseEvent.Type.NOTE, public=False)
    assert notes.filter(data__done=True).count() == 1


def test_R_FB_1_agents_do_not_complete_supervisor_tasks(customer, agent):
    with pytest.raises(NotAllowed):
        followups.complete_follow_up(follow_up=low_rated_task(customer), actor=agent, outcome="Done")


def test_R_FB_1_a_follow_up_is_handed_to_someone_who_can_complete_it(customer, supervisor, agent, mailoutbox):
    task = low_rated_task(customer)
    colleague = factories.StaffFactory(role="supervisor")
    with pytest.raises(ValidationFailed) as wrong:
        followups.assign_follow_up(follow_up=task, actor=supervisor, assignee=agent)
    assert set(wrong.value.fields) == {"assignee"}
    task = followups.assign_follow_up(follow_up=task, actor=supervisor, assignee=colleague)
    assert task.assignee == colleague
    assert Notification.objects.filter(user=colleague, case=task.case, title__contains="assigned to you").exists()
    assert task.case.events.filter(type=CaseEvent.Type.NOTE, data__assignee=colleague.pk).exists()
    followups.complete_follow_up(follow_up=task, actor=colleague, outcome="Called back")
    with pytest.raises(TransitionConflict):
        followups.assign_follow_up(follow_up=task, actor=supervisor, assignee=None)


def test_business_day_length_follows_business_hours(settings):
    settings.BUSINESS_HOURS = "09:00-12:00,13:30-18:00"
    assert followups.business_day_length() == timedelta(hours=7, minutes=30)
    settings.BUSINESS_HOURS = "08:00-20:00"
    assert followups.business_day_length() == timedelta(hours=12)


# --- Portal and API --------------------------------------------------------------------------


def test_R_FB_1_portal_form_asks_for_the_reason_and_shows_its_error_next_to_it(client, customer):
    case = closed_case(customer)
    client.force_login(customer)
    page = client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    assert 'name="reason"' in page and "<legend>What mattered most" in page
    assert 'for="id_reason_0"' in page  # each choice is a labelled radio, reachable by keyboard
    url = reverse("portal:case-feedback", args=[case.number])
    refused = client.post(url, {"rating": "2", "comment": "Slow"})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'id="id_reason_error"' in html and "Tell us what mattered most" in html
    assert 'aria-describedby="id_reason_helptext id_reason_error"' in html
    assert not Feedback.objects.exists()

    assert client.post(url, {"rating": "2", "reason": "speed", "comment": "Slow"}).status_code == 302
    page = client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    assert "Your rating" in page and "2/5" in page and "How fast it went" in page and "Slow" in page
    assert 'name="reason"' not in page


def test_R_FB_1_customers_cannot_see_or_rate_other_customers_cases(client, customer, other_customer):
    case = closed_case(customer)
    client.force_login(other_customer)
    assert client.get(reverse("portal:case-detail", args=[case.number])).status_code == 404
    response = client.post(reverse("portal:case-feedback", args=[case.number]), {"rating": "5"})
    assert response.status_code == 404
    api = APIClient()
    api.force_authenticate(other_customer)
    assert api.post(reverse("api-case-feedback", args=[case.number]), {"rating": 5}).status_code == 404
    assert not Feedback.objects.exists()


def test_R_FB_1_api_takes_the_reason_and_answers_400_with_field_messages(customer):
    case = closed_case(customer)
    api = APIClient()
    api.force_authenticate(customer)
    url = reverse("api-case-feedback", args=[case.number])
    missing = api.post(url, {"rating": 2})
    assert missing.status_code == 400 and list(missing.json()["fields"]) == ["reason"]
    unknown = api.post(url, {"rating": 2, "reason": "weather"})
    assert unknown.status_code == 400 and list(unknown.json()["fields"]) == ["reason"]
    created = api.post(url, {"rating": 2, "reason": "policy", "comment": "Too strict"})
    assert created.status_code == 201
    assert created.json()["reason"] == "policy" and created.json()["reason_label"] == "The rules or the decision"
    assert FollowUp.objects.filter(case=case, kind=FollowUp.Kind.TASK).exists()


# --- Two at once ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_R_FB_1_a_double_submitted_low_rating_makes_one_rating_and_one_task():
    from tests.cases.test_concurrency import run_together

    customer = factories.CustomerFactory()
    factories.StaffFactory(role="supervisor")
    case = closed_case(customer)

    def rate():
        return (lambda: None, lambda _: services.leave_feedback(case=case, customer=customer, rating=1, reason="speed"))

    results = run_together(rate(), rate())
    assert sorted(type(r).__name__ for r in results) == ["Feedback", "ValidationFailed"], results
    assert Feedback.objects.filter(case=case).count() == 1
    assert FollowUp.objects.filter(case=case).count() == 1
    assert case.events.filter(type=CaseEvent.Type.FEEDBACK).count() == 1


@pytest.mark.django_db(transaction=True)
def test_R_FB_1_two_supervisors_completing_at_once_one_wins_one_conflicts():
    from tests.cases.test_concurrency import run_together

    customer = factories.CustomerFactory()
    first, second = factories.StaffFactory(role="supervisor"), factories.StaffFactory(role="supervisor")
    task = low_rated_task(customer)

    def complete(actor):
        return (
            lambda: FollowUp.objects.get(pk=task.pk),
            lambda follow_up: followups.complete_follow_up(follow_up=follow_up, actor=actor, outcome=f"By {actor.pk}"),
        )

    results = run_together(complete(first), complete(second))
    assert sorted(type(r).__name__ for r in results) == ["FollowUp", "TransitionConflict"], results
    task.refresh_from_db()
    winner = next(r for r in results if isinstance(r, FollowUp))
    assert task.done_by == winner.done_by and task.outcome == f"By {winner.done_by.pk}"
    assert task.case.events.filter(data__done=True).count() == 1
