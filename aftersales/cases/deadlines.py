"""The deadline sweeper: finds cases whose `deadline_at` has passed and applies their kind's
deadline action, set-based, one transaction per batch.

Rows are claimed with SELECT … FOR UPDATE SKIP LOCKED (PostgreSQL), so two sweepers running at once
split the work instead of doing it twice; every claimed row leaves the batch with its deadline
cleared or moved, so a sweep always terminates.
"""

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import workflow
from .models import Case, CaseEvent, Notification
from .notifications import enqueue_emails_on_commit

log = logging.getLogger(__name__)
RETRY_UNKNOWN_ACTION_AFTER = timedelta(hours=1)


def sweep_due_deadlines(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Handle every case due at `now`; returns how many were handled."""
    now = now or timezone.now()
    batch_size = batch_size or settings.DEADLINE_SWEEP_BATCH_SIZE
    handled = 0
    while True:
        with transaction.atomic():
            rows = list(
                Case.objects.filter(deadline_at__lte=now)
                .order_by("deadline_at", "id")
                .select_for_update(skip_locked=True, of=("self",))  # the cases, not their customers
                .values_list("id", "kind", "status", "deadline_action", "customer_id", "customer__preferred_language")[
                    :batch_size
                ]
            )
            if not rows:
                break
            groups = defaultdict(list)
            for row in rows:
                groups[(row[1], row[3])].append(row)
            for (kind, action_name), group in groups.items():
                _apply(kind, action_name, group, now)
        handled += len(rows)
        if len(rows) < batch_size:
            break
    if handled:
        log.info("deadline sweep handled %d case(s)", handled)
    return handled


def _apply(kind: str, action_name: str, rows: list[tuple], now: datetime) -> None:
    ids = [row[0] for row in rows]
    try:
        action = workflow.get(kind).deadline_actions[action_name]
    except LookupError:
        # Unknown to this code version (e.g. during a deploy): try again later, loudly.
        log.error("no deadline action %r for case kind %r (%d cases); retrying later", action_name, kind, len(ids))
        Case.objects.filter(id__in=ids).update(deadline_at=now + RETRY_UNKNOWN_ACTION_AFTER)
        return

    cleared = {"deadline_at": None, "deadline_action": "", "updated_at": now}
    if action.handler:
        # Cleared first; a handler that needs a later deadline sets it again.
        Case.objects.filter(id__in=ids).update(**cleared)
        action.handler(case_ids=ids, now=now)
        return

    flow = workflow.get(kind)
    t = flow.transitions[action.transition]
    movable = [row for row in rows if row[2] in t.sources]
    stale = [row for row in rows if row[2] not in t.sources]
    closed_at = now if t.target in flow.final else None
    # One statement per outcome: the rows are locked, so the status filter is a safety net only.
    Case.objects.filter(id__in=[row[0] for row in movable], status__in=t.sources).update(
        status=t.target, version=F("version") + 1, closed_at=closed_at, **cleared
    )
    if stale:
        Case.objects.filter(id__in=[row[0] for row in stale]).update(**cleared)
    CaseEvent.objects.bulk_create(
        [
            CaseEvent(
                case_id=row[0],
                at=now,
                type=CaseEvent.Type.DEADLINE,
                from_status=row[2],
                to_status=t.target,
                note=action.note,
                data={"deadline_action": action_name, "transition": t.name},
            )
            for row in movable
        ]
        + [
            CaseEvent(
                case_id=row[0],
                at=now,
                type=CaseEvent.Type.DEADLINE,
                from_status=row[2],
                data={"deadline_action": action_name, "skipped": "status no longer allows it"},
                public=False,
            )
            for row in stale
        ],
        batch_size=2000,
    )
    if movable:
        notifications = Notification.objects.bulk_create(
            [_deadline_notification(row, flow.statuses[t.target], action.note) for row in movable], batch_size=2000
        )
        enqueue_emails_on_commit([n.pk for n in notifications if n.pk])


def _deadline_notification(row: tuple, status_label, note) -> Notification:
    """In the customer's own language (workers have no request to take it from)."""
    with translation.override(row[5] or settings.LANGUAGE_CODE):
        return Notification(
            user_id=row[4],
            case_id=row[0],
            title=_("A deadline passed: %(status)s") % {"status": status_label},
            body=str(note),
        )
