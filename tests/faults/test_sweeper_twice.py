"""The deadline sweeper run twice at once (R-RET-10): two real processes sweep the same overdue cases
at the same moment, and each case is handled once: one deadline event, one notification to its
customer (one escalation per supervisor for the handler action). The sweeper claims rows with
SELECT … FOR UPDATE SKIP LOCKED (aftersales/cases/deadlines.py), so the two split the work; on SQLite
its write lock queues one behind the other, which must come to the same."""

import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from aftersales.cases.models import Case, CaseEvent, Notification
from tests import factories
from tests.cases.test_worker import database_url
from tests.faults.processes import BASE_DIR, app_env, wait_until

EXPIRING, OVERDUE_INSPECTIONS, CUSTOMERS = 200, 40, 10

SWEEP = """
import os, sys, time
from pathlib import Path
import django
django.setup()
from aftersales.cases.deadlines import sweep_due_deadlines
go = Path(sys.argv[1])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.005)
print("handled", sweep_due_deadlines(batch_size=int(sys.argv[2])), flush=True)
"""


@pytest.mark.django_db(transaction=True)
def test_R_RET_10_two_sweepers_at_once_handle_each_case_once(tmp_path):
    customers = [factories.CustomerFactory() for _ in range(CUSTOMERS)]
    supervisor = factories.StaffFactory(role="supervisor")
    expiring = [factories.open_case(customer=customers[n % CUSTOMERS]).pk for n in range(EXPIRING)]
    inspections = [factories.open_case(customer=customers[n % CUSTOMERS]).pk for n in range(OVERDUE_INSPECTIONS)]
    past = timezone.now() - timedelta(minutes=5)
    Case.objects.filter(pk__in=expiring).update(
        status="awaiting_parcel", deadline_at=past, deadline_action="expire_unshipped"
    )
    Case.objects.filter(pk__in=inspections).update(
        status="received", deadline_at=past, deadline_action="inspection_overdue"
    )
    notifications_before = Notification.objects.count()

    go = tmp_path / "go"
    env = app_env(DATABASE_URL=database_url(connection.settings_dict), DJANGO_SETTINGS_MODULE="aftersales.settings")
    sweepers = [
        subprocess.Popen(
            [sys.executable, "-c", SWEEP, str(go), "10"],  # small batches: many claims, interleaved
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for sweeper in sweepers:  # both loaded and waiting, then released together
            wait_until(lambda s=sweeper: s.stdout.readline().strip() == "ready" or s.poll() is not None, "a sweeper")
        go.touch()
        outputs = [sweeper.communicate(timeout=120) for sweeper in sweepers]
    finally:
        for sweeper in sweepers:
            if sweeper.poll() is None:
                sweeper.kill()
    handled = []
    for sweeper, (out, err) in zip(sweepers, outputs, strict=True):
        assert sweeper.returncode == 0, err[-4000:]
        handled.append(int(out.split("handled", 1)[1]))

    total = EXPIRING + OVERDUE_INSPECTIONS
    print(f"\nsweeper twice at once: {total} overdue cases, handled {handled[0]} + {handled[1]} by two processes")
    assert sum(handled) == total  # none twice, none missed
    assert not Case.objects.filter(pk__in=expiring + inspections, deadline_at__isnull=False).exists()
    assert set(Case.objects.filter(pk__in=expiring).values_list("status", flat=True)) == {"expired"}

    events = Counter(
        CaseEvent.objects.filter(type=CaseEvent.Type.DEADLINE, case_id__in=expiring + inspections).values_list(
            "case_id", flat=True
        )
    )
    assert set(events) == set(expiring + inspections) and set(events.values()) == {1}
    told = Counter(Notification.objects.filter(case_id__in=expiring).values_list("case_id", "user_id"))
    owners = dict(Case.objects.filter(pk__in=expiring).values_list("pk", "customer_id"))
    assert told == Counter({(pk, owner): 1 for pk, owner in owners.items()})
    escalated = Counter(Notification.objects.filter(case_id__in=inspections).values_list("case_id", "user_id"))
    assert escalated == Counter({(pk, supervisor.pk): 1 for pk in inspections})
    assert Notification.objects.count() == notifications_before + total
