"""A real Celery worker with its embedded beat expires an overdue return on its own.

The worker is a separate process talking to the test database and to the configured broker, so this
proves the whole chain: beat schedule → broker → worker → sweeper → database. It runs on the default
SQLite database + SQLite broker (`make test`) and on PostgreSQL + Redis (CI)."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from aftersales.cases import services
from aftersales.cases.models import Case, CaseEvent
from tests import factories

BASE_DIR = Path(__file__).resolve().parent.parent.parent
WAIT_SECONDS = 60


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL (as settings.py reads it) for the database this test process is using."""
    engine = settings_dict["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(settings_dict['NAME']).resolve()}"
    if engine == "django.db.backends.postgresql":
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{quote(settings_dict['NAME'], safe='')}"
    raise NotImplementedError(engine)


def start_worker(tmp_path, *, beat: bool = True, extra_env: dict | None = None, name: str = "worker"):
    """A real `celery worker` (with its embedded beat unless `beat=False`) on this test's database
    and broker; returns (process, log path)."""
    log = tmp_path / f"{name}.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_BEAT_SCHEDULE_FILENAME": str(tmp_path / "celerybeat-schedule"),
        "DEADLINE_SWEEP_INTERVAL_SECONDS": "1",
        "SECRET_KEY": "test-only-worker-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "HTTPS": "0",
        "DEBUG": "0",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "aftersales",
        "worker",
        *(["-B"] if beat else []),
        "--pool=solo",
        "--loglevel=info",
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        f"test-{name}-{os.getpid()}@%h",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(  # its own process group: the embedded beat is a child process
            command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return process, log


def stop_worker(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop the worker's process group; SIGKILL is a crash (nothing gets to clean up)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_with_beat_expires_an_overdue_return(tmp_path):
    """R-RET-10: the scheduled job, not a person, expires a return not shipped in time."""
    customer = factories.CustomerFactory()
    case = services.transition(
        case=factories.open_case(customer=customer),
        name="approve",
        actor=None,
        deadline_at=timezone.now() - timedelta(minutes=1),
        deadline_action="expire_unshipped",
    )  # committed: the test runs without a wrapping transaction

    process, log = start_worker(tmp_path)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            case.refresh_from_db()
            if case.status == "expired" or process.poll() is not None:
                break
            time.sleep(0.5)
    finally:
        stop_worker(process)
        output = log.read_text(errors="replace")

    assert case.status == "expired", f"worker exit code {process.returncode}; its log:\n{output[-6000:]}"
    assert case.closed_at is not None and case.deadline_at is None
    event = CaseEvent.objects.get(case=case, type=CaseEvent.Type.DEADLINE)
    assert event.actor is None and event.to_status == "expired"
    assert "aftersales.cases.tasks.sweep_deadlines" in output
    assert Case.objects.filter(status="awaiting_parcel").count() == 0
