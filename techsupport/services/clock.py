"""Runs the SLA clock of a ticket (R-SUP-3) and schedules what the deadline sweeper does next.

Callers hold the case's row lock (`tickets._locked`, or the sweeper's claim). Functions that change
the clock set fields on the `Ticket` they are given; `refresh` then fires due alerts, sets the
flags and `sla_due_at`, saves the ticket and sets the case's next deadline.
"""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext as _

from aftersales.cases import services as case_services
from aftersales.cases.models import Case
from aftersales.cases.notifications import notify

from .. import sla
from ..models import SlaAlert, SlaPolicy, SupportSettings, Ticket
from ..workflow import CLOCK_RUNS, CLOSED, RESOLVED, WAITING

CLOCK_FIELDS = [
    "sla_policy",
    "first_response_minutes",
    "next_response_minutes",
    "resolution_minutes",
    "first_response_due_at",
    "first_responded_at",
    "next_response_due_at",
    "awaiting_reply_since",
    "response_cycle",
    "resolution_due_at",
    "resolution_used",
    "clock_started_at",
    "resolved_at",
    "sla_due_at",
    "sla_flag",
    "first_response_breached",
    "next_response_breached",
    "resolution_breached",
    "waiting_since",
    "reminded_at",
]


def apply_policy(ticket: Ticket, *, opened_at: datetime, now: datetime) -> None:
    """Choose the ticket's policy and (re)compute its due moments from the targets: at opening, and
    when its category or priority changes (the time already used still counts)."""
    policy = sla.choose_policy(
        SlaPolicy.objects.filter(active=True).order_by("position", "id"),
        category=ticket.category,
        priority=ticket.priority,
        tier=ticket.customer_tier,
    )
    targets = sla.targets_for(policy, SupportSettings.current())
    ticket.sla_policy = policy
    ticket.first_response_minutes = targets.first_response
    ticket.next_response_minutes = targets.next_response
    ticket.resolution_minutes = targets.resolution
    ticket.first_response_due_at = sla.due(opened_at, targets.first_response)
    if ticket.awaiting_reply_since is not None and targets.next_response:
        ticket.next_response_due_at = sla.due(ticket.awaiting_reply_since, targets.next_response)
    else:
        ticket.next_response_due_at = None
    if ticket.clock_started_at is not None:
        ticket.resolution_due_at = (
            sla.due(ticket.clock_started_at, targets.resolution, ticket.resolution_used) if targets.resolution else None
        )


def start(ticket: Ticket, now: datetime) -> None:
    ticket.clock_started_at = now
    ticket.resolution_used = timedelta(0)
    apply_policy(ticket, opened_at=now, now=now)


def pause(ticket: Ticket, now: datetime) -> None:
    """Stop the resolution clock (waiting on the customer, resolved, closed), keeping what it used."""
    if ticket.clock_started_at is not None:
        ticket.resolution_used += sla.used_since(ticket.clock_started_at, now)
        if ticket.resolution_due_at is not None and ticket.resolution_due_at <= now:
            ticket.resolution_breached = True
    ticket.clock_started_at = None
    ticket.resolution_due_at = None


def resume(ticket: Ticket, now: datetime) -> None:
    if ticket.clock_started_at is None:
        ticket.clock_started_at = now
        if ticket.resolution_minutes:
            ticket.resolution_due_at = sla.due(now, ticket.resolution_minutes, ticket.resolution_used)


def answered(ticket: Ticket, now: datetime) -> None:
    """Staff answered the customer publicly: the first or next response target is met."""
    if ticket.first_responded_at is None:
        ticket.first_responded_at = now
        if ticket.first_response_due_at is not None and ticket.first_response_due_at < now:
            ticket.first_response_breached = True
    if ticket.next_response_due_at is not None and ticket.next_response_due_at < now:
        ticket.next_response_breached = True
    ticket.next_response_due_at = None
    ticket.awaiting_reply_since = None


def customer_wrote(ticket: Ticket, now: datetime) -> None:
    """A customer message after an answer starts a next-response round (one at a time)."""
    if ticket.first_responded_at is None or ticket.awaiting_reply_since is not None:
        return
    ticket.awaiting_reply_since = now
    ticket.response_cycle += 1
    if ticket.next_response_minutes:
        ticket.next_response_due_at = sla.due(now, ticket.next_response_minutes)


def _running(case: Case, ticket: Ticket, knobs: SupportSettings) -> list[sla.Running]:
    if case.status not in CLOCK_RUNS:
        # Waiting on the customer: only an unanswered first response would still run, and an
        # answer is what moves a ticket to waiting, so nothing runs.
        return []
    return sla.running_targets(
        ticket,
        opened_at=case.opened_at,
        warning_percent=knobs.warning_percent,
        supervisor_after=knobs.supervisor_after_minutes,
    )


def refresh(case: Case, ticket: Ticket, now: datetime) -> None:
    """Fire the alerts due at `now` (once each), set the flags and the queue's `sla_due_at`, save the
    ticket and give the case its next deadline: the next alert, the reminder or the auto-close."""
    knobs = SupportSettings.current()
    running = _running(case, ticket, knobs)
    fired = set(ticket.alerts.values_list("target", "cycle", "level")) if ticket.pk else set()
    for item, level in sla.due_alerts(running, now, fired):
        _fire(case, ticket, item, level, now, knobs)
        fired.add((item.target, item.cycle, level))
        if level >= SlaAlert.Level.BREACH:
            setattr(ticket, f"{item.target}_breached", True)
    ticket.sla_flag = sla.flag(running, now)
    ticket.sla_due_at = sla.earliest_due(running)
    ticket.save(update_fields=[*CLOCK_FIELDS, "customer_tier", "category", "priority", "team", "escalated_at"])

    if case.status in CLOCK_RUNS:
        at, action = sla.next_alert_at(running, now, fired), "sla"
    elif case.status == WAITING:
        base = ticket.waiting_since or now
        if ticket.reminded_at is None:
            at, action = base + timedelta(days=knobs.remind_after_days), "remind"
        else:
            at, action = base + timedelta(days=knobs.close_after_days), "auto_close"
    elif case.status == RESOLVED:
        at, action = (ticket.resolved_at or now) + timedelta(days=knobs.close_after_days), "auto_close"
    else:  # CLOSED
        at, action = None, ""
    if (case.deadline_at, case.deadline_action) != (at, action if at else ""):
        case_services.set_deadline(case=case, deadline_at=at, deadline_action=action)


def _fire(case: Case, ticket: Ticket, item: sla.Running, level: int, now: datetime, knobs: SupportSettings) -> None:
    told = _recipients(case, ticket, level, knobs)
    SlaAlert.objects.create(
        ticket=ticket, target=item.target, cycle=item.cycle, level=level, at=now, notified=[u.pk for u in told]
    )
    target_label, level_label = SlaAlert.Target(item.target).label, SlaAlert.Level(level).label
    url = reverse("admin:techsupport_ticket_change", args=[case.pk])
    for user in told:
        notify(
            user=user,
            case=case,
            title=lambda: (
                _("SLA %(level)s: %(number)s, %(target)s")
                % {"level": level_label, "number": case.number, "target": target_label}
            ),
            body=lambda: (
                _("%(target)s due %(due)s. %(subject)s\n%(url)s")
                % {"target": target_label, "due": f"{item.due:%Y-%m-%d %H:%M %Z}", "subject": case.subject, "url": url}
            ),
        )
    case_services.add_note(
        case=case,
        actor=None,
        note=_("SLA %(level)s (%(target)s)") % {"level": level_label, "target": target_label},
        public=False,
        data={"sla_alert": item.target, "level": level, "cycle": item.cycle},
    )


def _recipients(case: Case, ticket: Ticket, level: int, knobs: SupportSettings) -> list:
    """Level 1: the assignee (the team if nobody has it); level 2: the assignee and the team lead;
    level 3: the supervisor (every active supervisor if none is named)."""
    if level == SlaAlert.Level.SUPERVISOR:
        if knobs.supervisor_id and knobs.supervisor.is_active:
            return [knobs.supervisor]
        return list(get_user_model().objects.filter(groups__name="supervisor", is_active=True).order_by("pk"))
    people = [case.assignee] if case.assignee_id else list(ticket.team.members.filter(is_active=True).order_by("pk"))
    if level == SlaAlert.Level.BREACH and ticket.team.lead_id and ticket.team.lead_id != case.assignee_id:
        people.append(ticket.team.lead)
    return [p for p in people if p is not None]


def sweep(*, case_ids: list[int], now: datetime) -> None:
    """The deadline sweeper's `sla` action: its rows are locked by the sweeper's claim."""
    for ticket in Ticket.objects.filter(case_id__in=case_ids).select_related("case", "team", "case__assignee"):
        if ticket.case.status != CLOSED:
            refresh(ticket.case, ticket, now)
