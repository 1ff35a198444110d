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
from django.db import connection, transaction
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
    sweep_batch = _sweep_batch_postgresql if connection.vendor == "postgresql" else _sweep_batch_orm
    handled = 0
    while True:
        with transaction.atomic():
            claimed = sweep_batch(now, batch_size)
        handled += claimed
        if claimed < batch_size:
            break
    if handled:
        log.info("deadline sweep handled %d case(s)", handled)
    return handled


def _sweep_batch_orm(now: datetime, batch_size: int) -> int:
    rows = _claim(Case.objects.filter(deadline_at__lte=now).order_by("deadline_at", "id"), batch_size)
    _apply_rows(rows, now)
    return len(rows)


def _claim(queryset, limit=None) -> list[tuple]:
    queryset = queryset.select_for_update(skip_locked=True, of=("self",)).values_list(  # cases, not customers
        "id", "kind", "status", "deadline_action", "customer_id", "customer__preferred_language"
    )
    return list(queryset[:limit] if limit else queryset)


def _apply_rows(rows: list[tuple], now: datetime) -> None:
    groups = defaultdict(list)
    for row in rows:
        groups[(row[1], row[3])].append(row)
    for (kind, action_name), group in groups.items():
        _apply(kind, action_name, group, now)


# PostgreSQL: the common case (a declared transition whose source status still holds) is one
# statement per batch: claim, move, write the timeline events and the notifications. Rows it does
# not move (handler actions, stale statuses, unknown actions) stay locked and go the ORM way.
_SWEEP_SQL = """
WITH rules (kind, action, target, sources, closes, transition, event_note) AS (VALUES {rules}),
texts (kind, action, lang, title, body) AS (VALUES {texts}),
claimed AS (
    SELECT c.id, c.kind, c.status, c.deadline_action, c.customer_id
    FROM {case} c WHERE c.deadline_at <= %(now)s
    ORDER BY c.deadline_at, c.id LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
),
moved AS (
    UPDATE {case} c
    SET status = r.target, version = c.version + 1, closed_at = CASE WHEN r.closes THEN %(now)s END,
        deadline_at = NULL, deadline_action = '', updated_at = %(now)s
    FROM claimed cl JOIN rules r ON r.kind = cl.kind AND r.action = cl.deadline_action
    WHERE c.id = cl.id AND cl.status = ANY(r.sources)
    RETURNING c.id, c.customer_id, cl.kind, cl.status AS from_status, r.action, r.target, r.transition, r.event_note
),
events AS (
    INSERT INTO {event} (case_id, at, type, actor_id, from_status, to_status, note, data, public)
    SELECT id, %(now)s, 'deadline', NULL, from_status, target, event_note,
           jsonb_build_object('deadline_action', action, 'transition', transition), true
    FROM moved
),
notes AS (
    INSERT INTO {notification} (user_id, case_id, title, body, created_at)
    SELECT m.customer_id, m.id, t.title, t.body, %(now)s
    FROM moved m JOIN {user} u ON u.id = m.customer_id
    JOIN texts t ON t.kind = m.kind AND t.action = m.action
     AND t.lang = CASE WHEN u.preferred_language IN %(languages)s THEN u.preferred_language ELSE %(default)s END
    RETURNING id
)
SELECT 'notification', id FROM notes
UNION ALL SELECT 'left', id FROM claimed WHERE id NOT IN (SELECT id FROM moved)
"""


def _sweep_batch_postgresql(now: datetime, batch_size: int) -> int:
    rules, texts, params = [], [], {"now": now, "limit": batch_size}
    for flow in map(workflow.get, workflow.registered_kinds()):
        for action in flow.deadline_actions.values():
            if not action.transition:
                continue
            t = flow.transitions[action.transition]
            n = len(rules)
            rules.append(f"(%(k{n})s, %(a{n})s, %(g{n})s, %(s{n})s, %(c{n})s, %(t{n})s, %(e{n})s)")
            params.update({f"k{n}": flow.kind, f"a{n}": action.name, f"g{n}": t.target, f"s{n}": sorted(t.sources)})
            params.update({f"c{n}": t.target in flow.final, f"t{n}": t.name, f"e{n}": str(action.note)})
            for lang, _name in settings.LANGUAGES:
                m = len(texts)
                title, body = _deadline_texts(lang, flow.statuses[t.target], action.note)
                texts.append(f"(%(k{n})s, %(a{n})s, %(l{m})s, %(ti{m})s, %(b{m})s)")
                params.update({f"l{m}": lang, f"ti{m}": title, f"b{m}": body})
    if not rules:
        return _sweep_batch_orm(now, batch_size)
    params["languages"] = tuple(lang for lang, _name in settings.LANGUAGES)
    params["default"] = settings.LANGUAGE_CODE
    sql = _SWEEP_SQL.format(
        rules=", ".join(rules),
        texts=", ".join(texts),
        case=Case._meta.db_table,
        event=CaseEvent._meta.db_table,
        notification=Notification._meta.db_table,
        user=Case._meta.get_field("customer").related_model._meta.db_table,
    )
    with connection.cursor() as cursor:
        # Don't wait for the WAL flush at commit: if the server crashed right after, the batch
        # would be lost whole, and its cases, still overdue, would be swept again next time.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(sql, params)
        result = cursor.fetchall()
    notification_ids = [pk for what, pk in result if what == "notification"]
    left = [pk for what, pk in result if what == "left"]
    enqueue_emails_on_commit(notification_ids)
    if left:  # still locked by this transaction
        _apply_rows(_claim(Case.objects.filter(id__in=left).order_by("id")), now)
    return len(notification_ids) + len(left)


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
        languages = dict(settings.LANGUAGES)
        texts = {lang: _deadline_texts(lang, flow.statuses[t.target], action.note) for lang in languages}
        notifications = Notification.objects.bulk_create(
            [
                Notification(
                    user_id=row[4],
                    case_id=row[0],
                    title=texts[row[5] if row[5] in languages else settings.LANGUAGE_CODE][0],
                    body=texts[row[5] if row[5] in languages else settings.LANGUAGE_CODE][1],
                )
                for row in movable
            ],
            batch_size=2000,
        )
        enqueue_emails_on_commit([n.pk for n in notifications if n.pk])


def _deadline_texts(lang: str, status_label, note) -> tuple[str, str]:
    """The customer's notification, in their language (workers have no request to take it from)."""
    with translation.override(lang):
        return _("A deadline passed: %(status)s") % {"status": status_label}, str(note)
