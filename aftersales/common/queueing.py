"""Queueing a task from a request when the broker may be down.

Every task queued after a commit has its work recorded in a row first (a notification, an approved
refund, a ticket e-mail), and a periodic sweep does what is still undone. So a broker that cannot
take the message costs a delay, not the customer's request: the failure is logged and the sweep
catches up once the broker is back."""

import logging

from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)


def delay(task, *args, swept_by: str) -> bool:
    """`task.delay(*args)`; False (logged) when the broker cannot be reached. `swept_by` names the
    periodic task that does the work instead, for whoever reads the log."""
    try:
        task.delay(*args)
    except OperationalError as exc:  # Celery's "could not publish" after its own retries
        log.warning("broker unreachable, %s left to %s: %s", task.name, swept_by, exc)
        return False
    return True
