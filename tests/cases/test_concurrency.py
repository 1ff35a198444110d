"""Two writers at once: a transition is compare-and-set, so exactly one of two simultaneous moves
wins; two deadline sweeps at once handle each case exactly once.

Threads have their own database connections (Django's are per thread), hence real concurrent
transactions: on PostgreSQL row locks (and SKIP LOCKED for the sweeper), on SQLite the IMMEDIATE
write lock plus the busy timeout. Each thread closes its connection when done."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from aftersales.cases import services
from aftersales.cases.deadlines import sweep_due_deadlines
from aftersales.cases.models import Case, CaseEvent
from aftersales.common.errors import InvalidTransition, TransitionConflict
from tests import factories

ROUNDS = 20


def run_together(*targets, timeout: float = 60) -> list:
    """Run each target in its own thread, released together by a barrier once every thread has done
    its `prepare` step; returns each target's result or exception, in order."""
    barrier = threading.Barrier(len(targets), timeout=timeout)
    results: list = [None] * len(targets)

    def runner(index, target):
        try:
            prepare, act = target
            state = prepare()
            barrier.wait()
            results[index] = act(state)
        except Exception as exc:  # reported to the test, never lost in the thread
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a thread hung"
    return results


def approve_from_own_copy(case_id: int):
    """Read the case (before the barrier), then move it (after): both threads see `submitted`."""
    return (
        lambda: Case.objects.get(pk=case_id),
        lambda case: services.transition(case=case, name="approve", actor=None),
    )


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_transitions_from_the_same_status_one_wins_one_conflicts():
    customer = factories.CustomerFactory()
    for _ in range(ROUNDS):
        case = factories.open_case(customer=customer)

        results = run_together(approve_from_own_copy(case.pk), approve_from_own_copy(case.pk))

        winners = [r for r in results if isinstance(r, Case)]
        losers = [r for r in results if not isinstance(r, Case)]
        assert len(winners) == 1 and len(losers) == 1, results
        # Both read `submitted` before either wrote, so the loser's view was valid: a conflict.
        assert isinstance(losers[0], TransitionConflict), repr(losers[0])
        case.refresh_from_db()
        assert case.status == "awaiting_parcel" and case.version == 2
        assert CaseEvent.objects.filter(case=case, type=CaseEvent.Type.TRANSITION).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_transition_read_after_the_winner_committed_is_invalid_not_a_conflict():
    case = factories.open_case()
    services.transition(case=Case.objects.get(pk=case.pk), name="approve", actor=None)
    with pytest.raises(InvalidTransition):
        services.transition(case=Case.objects.get(pk=case.pk), name="approve", actor=None)
    with pytest.raises(TransitionConflict):  # a stale copy that still says `submitted`
        services.transition(case=case, name="approve", actor=None)
    assert CaseEvent.objects.filter(case=case, type=CaseEvent.Type.TRANSITION).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_deadline_sweeps_handle_each_case_exactly_once():
    """On PostgreSQL the sweeps claim rows with SKIP LOCKED and split the work; on SQLite the write
    lock serializes them. Either way no case is handled twice and none is missed."""
    customer = factories.CustomerFactory()
    due = timezone.now() - timedelta(minutes=5)
    cases = []
    for _ in range(40):
        case = services.transition(
            case=factories.open_case(customer=customer),
            name="approve",
            actor=None,
            deadline_at=due,
            deadline_action="expire_unshipped",
        )
        cases.append(case)
    now = timezone.now()

    def sweep():
        return (lambda: None, lambda _: sweep_due_deadlines(now=now, batch_size=5))

    results = run_together(sweep(), sweep())
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == len(cases), results
    again = run_together(sweep(), sweep())
    assert again == [0, 0], again

    ids = [c.pk for c in cases]
    assert set(Case.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"expired"}
    per_case = CaseEvent.objects.filter(case_id__in=ids, type=CaseEvent.Type.DEADLINE)
    assert per_case.count() == len(cases)
    assert per_case.values("case_id").distinct().count() == len(cases)
