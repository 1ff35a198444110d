"""Queueing a task from a request when the broker may be down.

Every task queued after a commit has its work recorded in a row first (a notification, an approved
refund, a ticket e-mail), and a periodic sweep does what is still undone. So a broker that cannot
take the message costs a delay, not the customer's request: the failure is logged and the sweep
catches up once the broker is back.

After a failure this process stops trying for BROKER_RETRY_AFTER_SECONDS: each try at a broker that
hangs costs seconds (Celery's publish retries, REDIS_TIMEOUT_SECONDS each), and every request would
pay them again for work the sweeps do anyway."""

import logging
import threading
import time

from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)
BROKER_RETRY_AFTER_SECONDS = 10.0
_down_until = 0.0  # time.monotonic() before which this process does not try the broker
_lock = threading.Lock()


def delay(task, *args, swept_by: str) -> bool:
    """`task.delay(*args)`; False (logged) when the broker cannot be reached or failed moments ago.
    `swept_by` names the periodic task that does the work instead, for whoever reads the log."""
    global _down_until
    if time.monotonic() < _down_until:
        log.warning("broker unreachable moments ago, %s left to %s", task.name, swept_by)
        return False
    try:
        task.delay(*args)
    except OperationalError as exc:  # Celery's "could not publish" after its own retries
        with _lock:
            _down_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
        log.warning("broker unreachable, %s left to %s: %s", task.name, swept_by, exc)
        return False
    return True
