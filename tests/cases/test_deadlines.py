"""The deadline sweeper: overdue cases get their kind's deadline action, once, in batches."""

from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales.cases import services
from aftersales.cases.deadlines import RETRY_UNKNOWN_ACTION_AFTER, sweep_due_deadlines
from aftersales.cases.models import Case, CaseEvent, Notification
from tests import factories

pytestmark = pytest.mark.django_db


def awaiting_parcel(customer=None, *, due_in: timedelta = timedelta(days=7)) -> Case:
    """A return approved by the system, waiting for the customer's parcel until now + `due_in`."""
    case = factories.open_case(customer=customer)
    return services.transition(
        case=case,
        name="approve",
        actor=None,
        deadline_at=timezone.now() + due_in,
        deadline_action="expire_unshipped",
    )


def deadline_events(case: Case):
    return CaseEvent.objects.filter(case=case, type=CaseEvent.Type.DEADLINE)


def test_an_overdue_unshipped_return_expires(customer):
    """R-RET-10: an approved return whose parcel was not shipped by the deadline is closed as expired,
    by the system, with a timeline entry and a notice to the customer."""
    case = awaiting_parcel(customer)
    notices_before = Notification.objects.filter(user=customer, case=case).count()
    now = case.deadline_at + timedelta(seconds=1)

    assert sweep_due_deadlines(now=now) == 1

    case.refresh_from_db()
    assert case.status == "expired"
    assert case.closed_at == now
    assert case.deadline_at is None and case.deadline_action == ""
    event = deadline_events(case).get()
    assert event.actor is None
    assert (event.from_status, event.to_status) == ("awaiting_parcel", "expired")
    assert event.public is True
    assert event.data["deadline_action"] == "expire_unshipped"
    assert "R-RET-10" in event.note
    notices = Notification.objects.filter(user=customer, case=case)
    assert notices.count() == notices_before + 1
    assert notices.order_by("-id").first().title.startswith("A deadline passed")


def test_cases_not_yet_due_are_left_alone(customer):
    case = awaiting_parcel(customer, due_in=timedelta(hours=1))
    exactly_due = awaiting_parcel(customer, due_in=timedelta(minutes=30))

    assert sweep_due_deadlines(now=exactly_due.deadline_at) == 1

    case.refresh_from_db()
    exactly_due.refresh_from_db()
    assert exactly_due.status == "expired"
    assert case.status == "awaiting_parcel"
    assert case.deadline_action == "expire_unshipped" and case.deadline_at is not None
    assert not deadline_events(case).exists()


def test_more_cases_than_one_batch_are_all_handled(customer):
    cases = [awaiting_parcel(customer, due_in=timedelta(minutes=n)) for n in range(1, 11)]
    now = timezone.now() + timedelta(hours=1)

    assert sweep_due_deadlines(now=now, batch_size=3) == 10

    assert set(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("status", flat=True)) == {"expired"}
    assert CaseEvent.objects.filter(type=CaseEvent.Type.DEADLINE).count() == 10


def test_a_case_whose_status_no_longer_allows_the_action_is_skipped_quietly(customer):
    case = awaiting_parcel(customer)
    # The parcel arrived, but the deadline was (wrongly) left in place.
    Case.objects.filter(pk=case.pk).update(status="received")
    notices_before = Notification.objects.filter(case=case).count()

    assert sweep_due_deadlines(now=case.deadline_at + timedelta(seconds=1)) == 1

    case.refresh_from_db()
    assert case.status == "received"
    assert case.deadline_at is None and case.deadline_action == ""
    assert case.closed_at is None
    event = deadline_events(case).get()
    assert event.public is False
    assert event.from_status == "received" and event.to_status == ""
    assert event.data["skipped"]
    assert Notification.objects.filter(case=case).count() == notices_before


def test_an_unknown_deadline_action_is_retried_later_not_lost_and_not_looped(customer):
    case = awaiting_parcel(customer)
    Case.objects.filter(pk=case.pk).update(deadline_action="action_from_a_newer_release")
    now = case.deadline_at + timedelta(seconds=1)

    assert sweep_due_deadlines(now=now, batch_size=1) == 1  # terminates: the row left the due set

    case.refresh_from_db()
    assert case.status == "awaiting_parcel"
    assert case.deadline_action == "action_from_a_newer_release"
    assert case.deadline_at == now + RETRY_UNKNOWN_ACTION_AFTER
    assert not deadline_events(case).exists()
    # Not due again until the retry time.
    assert sweep_due_deadlines(now=now + timedelta(minutes=5)) == 0
    assert sweep_due_deadlines(now=case.deadline_at) == 1


def test_sweeping_twice_handles_each_case_once(customer):
    cases = [awaiting_parcel(customer, due_in=timedelta(minutes=n)) for n in range(1, 6)]
    now = timezone.now() + timedelta(hours=1)

    assert sweep_due_deadlines(now=now, batch_size=2) == 5
    assert sweep_due_deadlines(now=now + timedelta(minutes=1), batch_size=2) == 0

    for case in cases:
        assert deadline_events(case).count() == 1
    assert Notification.objects.filter(title__startswith="A deadline passed").count() == 5


def test_the_sweeper_uses_the_clock_when_no_time_is_given(customer, time_machine):
    case = awaiting_parcel(customer, due_in=timedelta(days=7))
    time_machine.move_to(timezone.now() + timedelta(days=6), tick=False)
    assert sweep_due_deadlines() == 0
    time_machine.move_to(timezone.now() + timedelta(days=2), tick=False)
    assert sweep_due_deadlines() == 1
    case.refresh_from_db()
    assert case.status == "expired"
