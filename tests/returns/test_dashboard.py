"""The returns queue in the staff dashboard: list, filters, the request page and its step forms,
and the bulk approve. Every move goes through returns.services."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from aftersales.cases.models import Case, CaseEvent
from aftersales.common.errors import InvalidTransition
from returns import services
from returns.models import ReturnRequest
from tests import factories
from tests.dashboard.conftest import form_data, photo

pytestmark = pytest.mark.django_db
RESALEABLE = {"accessories_complete": True, "water_exposure": False}
CHANGELIST = "admin:returns_returnrequest_changelist"


def submit(customer, *, reason="no_reason", photos=(), signed_days_ago=2):
    order = factories.order_with_lines(
        customer=customer, signed_for_at=timezone.now() - timedelta(days=signed_days_ago)
    )
    return services.submit_request(
        customer=customer,
        order=order,
        kind="return",
        reason=reason,
        lines=[{"line": order.lines.get(), "quantity": 1}],
        condition=RESALEABLE,
        description="Please take it back",
        photos=photos,
    )


def change_url(case) -> str:
    return reverse("admin:returns_returnrequest_change", args=[case.pk])


def step_url(case, step) -> str:
    return reverse(f"admin:returns_returnrequest_{step}", args=[case.pk])


def message_texts(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def post_step(client, case, step, data=None):
    case.refresh_from_db()
    return client.post(step_url(case, step), {"version": case.version, **(data or {})})


@pytest.fixture
def submitted(customer):
    return submit(customer)


def test_the_queue_lists_requests_with_their_columns_and_filters(client, agent, customer, other_customer):
    fresh = submit(customer)
    late = submit(other_customer)
    services.approve(case=late, actor=agent)
    Case.objects.filter(pk=late.pk).update(deadline_at=timezone.now() - timedelta(hours=1))
    client.force_login(agent)

    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    page = response.text
    assert fresh.number in page and late.number in page
    assert "Submitted" in page and "Approved: awaiting your parcel" in page  # status labels, not codes
    assert "1999.00" in page  # the refund estimate
    for title in ("By status", "By overdue", "By reason", "By approved automatically"):
        assert title in page
    # Oldest open first.
    assert page.index(fresh.number) < page.index(late.number)

    overdue = client.get(reverse(CHANGELIST), {"overdue": "yes"}).text
    assert late.number in overdue and fresh.number not in overdue
    by_status = client.get(reverse(CHANGELIST), {"status": "submitted"}).text
    assert fresh.number in by_status and late.number not in by_status
    searched = client.get(reverse(CHANGELIST), {"q": other_customer.email}).text
    assert late.number in searched and fresh.number not in searched


def test_the_request_page_shows_photos_history_verdict_and_the_steps(client, agent, customer):
    earlier = submit(customer)
    services.reject(case=earlier, actor=agent, reason_text="Used")
    case = submit(customer, reason="transit_damage", photos=[photo()])
    attachment = case.attachments.get()
    client.force_login(agent)

    response = client.get(change_url(case))
    assert response.status_code == 200
    page = response.text
    assert reverse("portal:attachment-download", args=[attachment.pk]) in page  # the thumbnail
    assert "1 earlier return requests; 1 rejected, 0 failed inspection." in page
    assert "verdict-open" in page and "open until" in page  # its own units do not refuse it
    assert 'id="return-approve"' in page and 'id="return-reject"' in page
    assert 'id="return-receive"' not in page and 'id="return-inspect"' not in page
    assert "Please take it back" in page
    assert form_data(page, "return-approve")["version"] == str(case.version)
    # R-RET-6: the declared condition in words, not as data.
    assert "All accessories, manuals and gifts are included: <strong>yes</strong>" in page


def test_the_verdict_shows_a_refusal_with_its_rule(client, agent, customer):
    case = submit(customer, signed_days_ago=7)
    client.force_login(agent)
    with_time_passing = timezone.now() + timedelta(days=3)
    with time_machine.travel(with_time_passing):
        page = client.get(change_url(case)).text
    assert "verdict-refused" in page and "R-RET-1" in page


def test_approve_receive_and_inspect_through_the_dashboard(client, agent, submitted):
    client.force_login(agent)

    response = post_step(client, submitted, "approve", {"note": "Ship it back, please."})
    assert response.status_code == 302 and response["Location"] == change_url(submitted)
    submitted.refresh_from_db()
    assert submitted.status == "awaiting_parcel" and submitted.deadline_at is not None
    assert ("success", f"Case {submitted.number} is now: Approved: awaiting your parcel.") in message_texts(response)
    assert 'id="return-receive"' in client.get(change_url(submitted)).text

    post_step(client, submitted, "receive")
    submitted.refresh_from_db()
    assert submitted.status == "received"
    assert ReturnRequest.objects.get(pk=submitted.pk).received_at is not None
    assert 'id="return-inspect"' in client.get(change_url(submitted)).text

    post_step(client, submitted, "inspect", {"passed": "1", "notes": "Scratch on the back", "deductions": "20.00"})
    submitted.refresh_from_db()
    assert submitted.status == "refund_pending"
    request = ReturnRequest.objects.get(pk=submitted.pk)
    assert request.deductions == Decimal("20.00") and request.inspection_notes == "Scratch on the back"
    assert services.refund_due(request) == Decimal("1979.00")

    steps = CaseEvent.objects.filter(case=submitted, type=CaseEvent.Type.TRANSITION).order_by("at", "id")
    assert [(e.to_status, e.actor) for e in steps] == [
        ("awaiting_parcel", agent),
        ("received", agent),
        ("inspection_passed", agent),
        ("refund_pending", None),  # the refund queued for finance by the inspection step
    ]


def test_a_failed_inspection_needs_notes_and_bad_input_is_a_message(client, agent, submitted):
    services.approve(case=submitted, actor=agent)
    services.receive(case=submitted, actor=agent)
    client.force_login(agent)
    for count, data in enumerate(
        (
            {"passed": "0"},
            {"notes": "x"},
            {"passed": "1", "deductions": "abc"},
            {"passed": "1", "deductions": "5000"},
        ),
        start=1,
    ):
        response = post_step(client, submitted, "inspect", data)
        assert response.status_code == 302
        # No redirect is followed, so the messages pile up: one more error each time.
        assert [level for level, _ in message_texts(response)] == ["error"] * count
    submitted.refresh_from_db()
    assert submitted.status == "received"


def test_reject_needs_a_reason(client, agent, submitted):
    client.force_login(agent)
    response = client.post(step_url(submitted, "reject"), {"version": submitted.version, "reason": "  "}, follow=True)
    assert response.status_code == 200
    [(level, text)] = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert level == "error" and "Tell the customer why the request is rejected." in text
    submitted.refresh_from_db()
    assert submitted.status == "submitted"

    post_step(client, submitted, "reject", {"reason": "The seal is broken."})
    submitted.refresh_from_db()
    assert submitted.status == "rejected"
    event = CaseEvent.objects.get(case=submitted, type=CaseEvent.Type.TRANSITION)
    assert event.actor == agent and event.note == "The seal is broken."


def test_a_step_from_the_wrong_status_or_a_stale_page_is_a_message(client, agent, submitted):
    client.force_login(agent)
    response = post_step(client, submitted, "receive")
    assert message_texts(response) == [("error", str(InvalidTransition.default_message))]
    stale = client.post(step_url(submitted, "approve"), {"version": submitted.version - 1})
    assert message_texts(stale)[-1][0] == "error"
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


def test_a_customer_cannot_reach_the_queue_or_the_steps(client, customer, submitted):
    client.force_login(customer)
    assert client.get(reverse(CHANGELIST)).status_code == 302  # to the admin login
    assert client.get(change_url(submitted)).status_code == 302
    response = client.post(step_url(submitted, "approve"), {"version": submitted.version})
    assert response.status_code == 302 and "login" in response["Location"]
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


def test_bulk_approve_approves_submitted_ones_and_reports_the_others(client, agent, customer, other_customer):
    first, second = submit(customer), submit(other_customer)
    rejected = submit(factories.CustomerFactory())
    services.reject(case=rejected, actor=agent, reason_text="No")
    client.force_login(agent)

    response = client.post(
        reverse(CHANGELIST),
        {"action": "approve_selected", "_selected_action": [first.pk, second.pk, rejected.pk]},
    )
    assert response.status_code == 302
    texts = message_texts(response)
    assert ("success", "2 requests were approved.") in texts
    [warning] = [text for level, text in texts if level == "warning"]
    assert rejected.number in warning and first.number not in warning
    statuses = dict(Case.objects.filter(pk__in=[first.pk, second.pk, rejected.pk]).values_list("pk", "status"))
    assert statuses == {first.pk: "awaiting_parcel", second.pk: "awaiting_parcel", rejected.pk: "rejected"}
    assert set(CaseEvent.objects.filter(to_status="awaiting_parcel").values_list("actor", flat=True)) == {agent.pk}


def test_staff_without_the_case_permission_sees_no_steps_and_cannot_post(client, submitted):
    viewer = factories.StaffFactory()
    viewer.groups.clear()
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_returnrequest", content_type__app_label="returns")
    )
    client.force_login(viewer)
    page = client.get(change_url(submitted)).text
    assert 'id="return-approve"' not in page and "No returns step can be taken" in page
    assert client.post(step_url(submitted, "approve"), {"version": submitted.version}).status_code == 403
    submitted.refresh_from_db()
    assert submitted.status == "submitted"
