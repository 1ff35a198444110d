"""The SLA clock (R-SUP-3): which policy a ticket gets, when each target falls due in business time,
and which escalation steps are due. No writes here: `services.sla` applies what this computes.

Three targets run on a ticket:
- first response: from opening until the first public answer by staff;
- next response: from each customer message that follows an answer until staff answer it;
- resolution: from opening until resolved, paused while the ticket waits on the customer.
Each target has three alert levels: a warning at `warning_percent` of the target (the assignee is
told), the breach (the team lead too) and, `supervisor_after_minutes` later, a supervisor.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from aftersales.cases.calendar import add_business_time, business_time_between

from .models import SlaAlert, SlaFlag

Target, Level = SlaAlert.Target, SlaAlert.Level


@dataclass(frozen=True)
class Targets:
    first_response: int  # business minutes
    next_response: int | None
    resolution: int | None


def choose_policy(policies, *, category: str, priority: str, tier: str):
    """The first active policy (by position) whose every non-empty condition holds, or None."""
    for policy in policies:
        if not policy.active:
            continue
        if policy.categories and category not in policy.categories:
            continue
        if policy.priorities and priority not in policy.priorities:
            continue
        if policy.customer_tiers and tier not in policy.customer_tiers:
            continue
        return policy
    return None


def targets_for(policy, defaults) -> Targets:
    if policy is None:
        return Targets(defaults.first_response_minutes, None, defaults.resolution_minutes)
    return Targets(policy.first_response_minutes, policy.next_response_minutes, policy.resolution_minutes)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def due(start: datetime, target_minutes: int, used: timedelta = timedelta(0)) -> datetime:
    """When a target of `target_minutes` business minutes, `used` of it spent already, falls due
    if its clock runs from `start`. Past due already: `start` itself (the breach stays flagged)."""
    left = minutes(target_minutes) - used
    return add_business_time(start, left) if left > timedelta(0) else start


def used_since(start: datetime, end: datetime) -> timedelta:
    return business_time_between(start, end)


@dataclass(frozen=True)
class Running:
    """One target whose clock runs now, with the moments of its three alert levels."""

    target: str
    cycle: int
    due: datetime
    warn_at: datetime
    supervisor_at: datetime

    def level_at(self, level: int) -> datetime:
        return {Level.WARNING: self.warn_at, Level.BREACH: self.due, Level.SUPERVISOR: self.supervisor_at}[level]


def running_targets(ticket, *, opened_at: datetime, warning_percent: int, supervisor_after: int) -> list[Running]:
    """The targets of `ticket` whose clocks run (due moments as stored on it)."""
    share = warning_percent / 100
    found = []

    def add(target, cycle, start, due_at, target_minutes, used=timedelta(0)):
        warn_left = minutes(target_minutes) * share - used
        warn_at = add_business_time(start, warn_left) if warn_left > timedelta(0) else start
        found.append(
            Running(target, cycle, due_at, min(warn_at, due_at), add_business_time(due_at, minutes(supervisor_after)))
        )

    if ticket.first_responded_at is None and ticket.first_response_due_at is not None:
        add(Target.FIRST_RESPONSE, 0, opened_at, ticket.first_response_due_at, ticket.first_response_minutes)
    if ticket.next_response_due_at is not None and ticket.awaiting_reply_since is not None:
        add(
            Target.NEXT_RESPONSE,
            ticket.response_cycle,
            ticket.awaiting_reply_since,
            ticket.next_response_due_at,
            ticket.next_response_minutes,
        )
    if ticket.clock_started_at is not None and ticket.resolution_due_at is not None:
        add(
            Target.RESOLUTION,
            0,
            ticket.clock_started_at,
            ticket.resolution_due_at,
            ticket.resolution_minutes,
            ticket.resolution_used,
        )
    return found


def due_alerts(running: list[Running], now: datetime, fired: set[tuple[str, int, int]]) -> list[tuple[Running, int]]:
    """The (target, level) steps due at `now` that have not fired yet, lowest level first."""
    return [
        (r, level)
        for r in running
        for level in Level.values
        if r.level_at(level) <= now and (r.target, r.cycle, level) not in fired
    ]


def next_alert_at(running: list[Running], now: datetime, fired: set[tuple[str, int, int]]) -> datetime | None:
    """The earliest alert moment still ahead (or due but not fired), for the sweeper's deadline."""
    moments = [r.level_at(level) for r in running for level in Level.values if (r.target, r.cycle, level) not in fired]
    return min(moments) if moments else None


def flag(running: list[Running], now: datetime) -> str:
    if any(r.due <= now for r in running):
        return SlaFlag.BREACHED
    if any(r.warn_at <= now for r in running):
        return SlaFlag.WARNING
    return SlaFlag.OK


def earliest_due(running: list[Running]) -> datetime | None:
    return min((r.due for r in running), default=None)
