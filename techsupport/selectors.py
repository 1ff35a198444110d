"""Reads of technical support: the customer's own tickets for the portal (always filtered by the
customer), and what the ticket desk shares (the dashboard's queue, the ticket page and the SLA
statistics): querysets with their joins done once, the conversation of a ticket, the customer panel,
canned replies with their placeholders filled (R-SUP-4), and the SLA figures of a period (R-SUP-3),
computed with aggregate queries."""

import bisect
import re
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.cases import calendar
from aftersales.cases.models import Case, CaseEvent
from aftersales.orders.models import Order, OrderLine, Product

from .models import CannedReply, SlaAlert, SlaFlag, Team, Ticket
from .workflow import NEW, OPEN, WAITING, WORK

ACTIVE = (NEW, OPEN, WAITING)  # not yet resolved or closed
PANEL_ROWS = 10  # orders and other cases shown beside a ticket
REPAIR_LINES = 50  # order lines offered in the "open a repair" form, newest orders first


# --- The customer's side ---------------------------------------------------------------------------


def tickets_of(customer) -> QuerySet[Ticket]:
    """The customer's tickets, newest first."""
    return (
        Ticket.objects.filter(case__customer=customer)
        .select_related("case", "product", "team")
        .order_by("-case__opened_at", "-pk")
    )


def products_bought(customer) -> list[Product]:
    """The products on the customer's orders, for "which product is it about?"."""
    return list(Product.objects.filter(order_lines__order__customer=customer).distinct().order_by("name"))


# --- The queue and the ticket page ---------------------------------------------------------------


def desk_tickets():
    """Tickets with everything the queue's columns and the ticket page's header read."""
    return Ticket.objects.select_related(
        "case__customer", "case__assignee", "case__order", "team", "product", "related_case", "sla_policy"
    )


def ticket_workers():
    """Active staff who may work tickets: through a role, their own permissions, or as superusers."""
    app_label, codename = WORK.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(groups__permissions__in=permission) | Q(user_permissions__in=permission))
        .distinct()
        .order_by("full_name", "email")
    )


@dataclass
class Entry:
    """One line of a ticket's conversation and the files that came with it."""

    event: CaseEvent
    kind: str  # customer, agent, note (internal), internal (bookkeeping), status, sla, system
    attachments: list = field(default_factory=list)


def _entry_kind(event: CaseEvent) -> str:
    data = event.data or {}
    if "sla_alert" in data:
        return "sla"
    reply = data.get("reply")
    if reply in ("customer", "agent", "note"):
        return reply
    if event.to_status and event.from_status:
        return "status"
    return "system" if event.public else "internal"


def conversation(case: Case) -> list[Entry]:
    """The ticket's timeline, oldest first, each file under the entry written when it was uploaded
    (a message and its photos are stored in one transaction; the files' own "added" lines are left
    out, the files being shown). Two queries."""
    events = list(case.events.exclude(type=CaseEvent.Type.ATTACHMENT).select_related("actor").order_by("at", "id"))
    entries = []
    for event in events:
        event.case = case  # the status labels read the case's kind
        entries.append(Entry(event, _entry_kind(event)))
    moments = [entry.event.at for entry in entries]
    for attachment in case.attachments.select_related("uploaded_by").order_by("uploaded_at", "id"):
        index = max(bisect.bisect_right(moments, attachment.uploaded_at) - 1, 0)
        if entries:
            entries[index].attachments.append(attachment)
    return entries


def customer_orders(customer) -> list[Order]:
    return list(Order.objects.filter(customer=customer).order_by("-placed_at", "-pk")[:PANEL_ROWS])


def customer_cases(customer, *, besides: Case) -> list[Case]:
    """The customer's other cases of every kind, newest first."""
    return list(
        Case.objects.filter(customer=customer).exclude(pk=besides.pk).order_by("-opened_at", "-pk")[:PANEL_ROWS]
    )


def repairable_lines(customer) -> list[OrderLine]:
    """Items the customer bought (gifts are covered through their main item), newest orders first."""
    return list(
        OrderLine.objects.filter(order__customer=customer, gift_of__isnull=True)
        .select_related("order")
        .order_by("-order__placed_at", "order_id", "line_no")[:REPAIR_LINES]
    )


# --- Canned replies (R-SUP-4) ----------------------------------------------------------------------

PLACEHOLDERS = ("customer", "number", "order", "product", "agent")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """Replace {name} for the known names; any other text in braces is left as written."""
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def unknown_placeholders(text: str) -> list[str]:
    return sorted({name for name in _PLACEHOLDER.findall(text) if name not in PLACEHOLDERS})


def placeholder_values(case: Case, agent) -> dict[str, str]:
    ticket = Ticket.objects.select_related("product").filter(pk=case.pk).first()
    product = ticket.product if ticket is not None else None
    return {
        "customer": str(case.customer),
        "number": case.number,
        "order": case.order.number if case.order_id else "",
        "product": product.name if product is not None else "",
        "agent": str(agent) if agent is not None else "",
    }


def render_canned(reply: CannedReply, case: Case, agent) -> str:
    """The canned reply's text for this ticket, as `agent` would send it."""
    return fill_placeholders(reply.body, placeholder_values(case, agent))


def canned_replies(case: Case, category: str, agent) -> list[dict]:
    """The active canned replies for the ticket's category (or for any), filled for this ticket:
    the data the reply form's picker reads."""
    values = placeholder_values(case, agent)
    replies = CannedReply.objects.filter(active=True).filter(Q(category="") | Q(category=category))
    return [
        {"id": reply.pk, "title": reply.title, "body": fill_placeholders(reply.body, values), "then": reply.then}
        for reply in replies.order_by("title")
    ]


# --- SLA statistics (R-SUP-3) -----------------------------------------------------------------------


@dataclass
class StatsRow:
    """The figures of one agent, one team or everyone. The compliance figures and the median are
    about tickets opened in the period; "resolved" counts tickets resolved in it; "now" is now."""

    label: str
    opened: int = 0
    resolved: int = 0
    first_on_time: int = 0
    first_counted: int = 0  # answered, or breached before any answer
    resolution_on_time: int = 0
    resolution_counted: int = 0  # with a resolution target: resolved, or breached before that
    median_first_response: timedelta | None = None
    breaches: dict[int, int] = field(default_factory=dict)  # SlaAlert level → alerts fired in the period
    open_now: int = 0
    breached_now: int = 0

    @staticmethod
    def _percent(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    @property
    def first_response_compliance(self) -> float | None:
        return self._percent(self.first_on_time, self.first_counted)

    @property
    def resolution_compliance(self) -> float | None:
        return self._percent(self.resolution_on_time, self.resolution_counted)

    @property
    def breaches_by_level(self) -> list[int]:
        return [self.breaches.get(level, 0) for level in SlaAlert.Level.values]

    @property
    def median_first_response_minutes(self) -> int | None:
        if self.median_first_response is None:
            return None
        return round(self.median_first_response.total_seconds() / 60)

    def is_empty(self) -> bool:
        figures = (self.opened, self.resolved, self.open_now, self.first_counted, self.resolution_counted)
        return not any(figures) and not any(self.breaches.values())


@dataclass
class SlaStatistics:
    start: date
    end: date
    agents: list[StatsRow]
    teams: list[StatsRow]
    total: StatsRow


TOTALS = (
    "opened",
    "resolved",
    "first_on_time",
    "first_counted",
    "resolution_on_time",
    "resolution_counted",
    "open_now",
    "breached_now",
)


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) on the shop's clock."""
    tz = timezone.get_current_timezone()
    return datetime.combine(start, time.min, tzinfo=tz), datetime.combine(end + timedelta(1), time.min, tzinfo=tz)


def sla_statistics(*, start: date, end: date) -> SlaStatistics:
    """Per agent (the ticket's assignee now) and per team (its team now): a few aggregate queries
    for each grouping, whatever the number of tickets."""
    since, until = period_bounds(start, end)
    agents = _grouped("case__assignee", since, until)
    teams = _grouped("team", since, until)
    user_names = {u.pk: str(u) for u in get_user_model().objects.filter(pk__in=[k for k in agents if k is not None])}
    team_names = dict(Team.objects.filter(pk__in=list(teams)).values_list("pk", "name"))
    agent_rows = sorted(
        (_label(row, user_names.get(key) or str(_("Unassigned"))) for key, row in agents.items()),
        key=lambda row: (row.label == str(_("Unassigned")), row.label.lower()),
    )
    team_rows = sorted((_label(row, team_names.get(key, "?")) for key, row in teams.items()), key=lambda r: r.label)
    total = StatsRow(label=str(_("All tickets")))
    for row in team_rows:  # every ticket has exactly one team
        for name in TOTALS:
            setattr(total, name, getattr(total, name) + getattr(row, name))
        for level, count in row.breaches.items():
            total.breaches[level] = total.breaches.get(level, 0) + count
    total.median_first_response = _medians(None, since, until).get(None)
    return SlaStatistics(
        start=start,
        end=end,
        agents=[row for row in agent_rows if not row.is_empty()],
        teams=[row for row in team_rows if not row.is_empty()],
        total=total,
    )


def _label(row: StatsRow, label: str) -> StatsRow:
    row.label = label
    return row


def _grouped(key: str, since: datetime, until: datetime) -> dict:
    opened_in = Q(case__opened_at__gte=since, case__opened_at__lt=until)
    resolved_in = Q(resolved_at__gte=since, resolved_at__lt=until)
    answered = Q(first_responded_at__isnull=False)
    resolved = Q(resolved_at__isnull=False)
    has_target = Q(resolution_minutes__isnull=False)
    active = Q(case__status__in=ACTIVE)
    figures = (
        Ticket.objects.order_by()
        .values(key)
        .annotate(
            opened=Count("pk", filter=opened_in),
            resolved=Count("pk", filter=resolved_in),
            first_on_time=Count("pk", filter=opened_in & answered & Q(first_response_breached=False)),
            first_counted=Count("pk", filter=opened_in & (answered | Q(first_response_breached=True))),
            resolution_on_time=Count("pk", filter=opened_in & has_target & resolved & Q(resolution_breached=False)),
            resolution_counted=Count("pk", filter=opened_in & has_target & (resolved | Q(resolution_breached=True))),
            open_now=Count("pk", filter=active),
            breached_now=Count("pk", filter=active & Q(sla_flag=SlaFlag.BREACHED)),
        )
    )
    rows = {}
    for values in figures:
        group = values.pop(key)
        rows[group] = StatsRow(label="", **values)
    alerts = (
        SlaAlert.objects.filter(at__gte=since, at__lt=until)
        .order_by()
        .values(f"ticket__{key}", "level")
        .annotate(n=Count("pk"))
    )
    for values in alerts:
        row = rows.setdefault(values[f"ticket__{key}"], StatsRow(label=""))
        row.breaches[values["level"]] = values["n"]
    for group, median in _medians(key, since, until).items():
        rows.setdefault(group, StatsRow(label="")).median_first_response = median
    return rows


def _medians(key: str | None, since: datetime, until: datetime) -> dict:
    """The median business time to the first answer per group, of the tickets opened in the period
    and answered. Business time needs the shop's calendar, which the database does not hold in a
    form it can sum: the (opening, answer) pairs are read in one query, the calendar in another."""
    answered = Ticket.objects.filter(
        case__opened_at__gte=since, case__opened_at__lt=until, first_responded_at__isnull=False
    ).order_by()
    if key is None:
        rows = [
            (None, opened, responded)
            for opened, responded in answered.values_list("case__opened_at", "first_responded_at")
        ]
    else:
        rows = list(answered.values_list(key, "case__opened_at", "first_responded_at"))
    if not rows:
        return {}
    between = _business_clock(min(r[1] for r in rows), max(r[2] for r in rows))
    durations: dict = {}
    for group, opened, responded in rows:
        durations.setdefault(group, []).append(between(opened, responded))
    return {group: statistics.median(values) for group, values in durations.items()}


def _business_clock(first: datetime, last: datetime):
    """`business_time_between` for moments within [first, last], with the calendar read once."""
    tz = timezone.get_current_timezone()
    days = calendar.working_days_map(timezone.localtime(first, tz).date(), timezone.localtime(last, tz).date())
    hours = calendar.working_hours()

    def between(start: datetime, end: datetime) -> timedelta:
        start, end = timezone.localtime(start, tz), timezone.localtime(end, tz)
        total, day = timedelta(0), start.date()
        while day <= end.date():
            if days.get(day):
                for begin, finish in hours:
                    overlap = min(datetime.combine(day, finish, tzinfo=tz), end) - max(
                        datetime.combine(day, begin, tzinfo=tz), start
                    )
                    if overlap > timedelta(0):
                        total += overlap
            day += timedelta(1)
        return total

    return between
