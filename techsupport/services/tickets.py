"""Every write on a ticket (R-SUP-1 … R-SUP-4, R-SUP-6): open, reply, note, assign, prioritise,
escalate, resolve, close, reopen, and opening a repair or exchange from it.

Each function locks the case row (`_locked`), checks who may act, moves the status through the
cases core (one compare-and-set transition with its timeline event), runs the SLA clock
(`clock`), and leaves notifications for after commit.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.cases import services as case_services
from aftersales.cases.attachments import add_attachments
from aftersales.cases.models import Case, CaseEvent, CaseKind
from aftersales.cases.notifications import notify
from aftersales.common.errors import InvalidTransition, NotAllowed, PolicyRefused, TransitionConflict, ValidationFailed
from aftersales.common.locks import lock_one

from .. import mail
from ..models import Category, Channel, Priority, SupportSettings, Team, Ticket
from ..workflow import CLOSED, NEW, OPEN, RESOLVED, WAITING, WORK
from . import clock

SUBJECT_MAX, BODY_MAX = 200, 10_000
ESCALATE = "techsupport.escalate_ticket"
REPAIR = "warranty.repair_claim"  # technicians open repairs from tickets
FIRST_LINE, TECHNICAL = "first-line", "technical"


def first_line_team() -> Team:
    team = Team.objects.filter(tier=1).order_by("pk").first()
    return team or Team.objects.get_or_create(code=FIRST_LINE, defaults={"name": _("First line"), "tier": 1})[0]


def technical_team() -> Team:
    team = Team.objects.filter(tier=2).order_by("pk").first()
    return team or Team.objects.get_or_create(code=TECHNICAL, defaults={"name": _("Technical support"), "tier": 2})[0]


def _text(value, field: str, limit: int, required: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(fields={field: [required]})
    if len(value) > limit:
        raise ValidationFailed(fields={field: [_("At most %(n)d characters.") % {"n": limit}]})
    return value


def _is_worker(actor) -> bool:
    return actor is not None and actor.is_active and actor.has_perm(WORK)


def _locked(case: Case, *, version: int | None = None) -> tuple[Case, Ticket]:
    """Lock the case row and return it as stored with its ticket. `version`: the case version the
    caller's page or API client saw; a stale or repeated post is refused with a conflict."""
    if case.kind != CaseKind.TICKET:
        raise InvalidTransition()
    locked = lock_one(Case, case.pk)
    if version is not None and locked.version != version:
        raise TransitionConflict()
    ticket = Ticket.objects.select_related("team").get(pk=case.pk)
    return locked, ticket


def _move(case: Case, name: str, actor, note: str = "", public: bool = True, data: dict | None = None) -> Case:
    """A transition whose deadline `clock.refresh` sets afterwards; the customer is told by the
    caller where it matters (a reply carries its own notification)."""
    return case_services.transition(
        case=case, name=name, actor=actor, note=note, public=public, data=data, notify_customer=False
    )


@transaction.atomic
def open_ticket(
    *,
    customer,
    subject: str,
    body: str,
    category: str,
    actor=None,
    channel: str = Channel.PORTAL,
    priority: str = Priority.NORMAL,
    order=None,
    product=None,
    related_case: Case | None = None,
    photos=(),
    now: datetime | None = None,
) -> Case:
    """R-SUP-1: a customer opens a ticket in the portal (actor: the customer), an agent logs a phone,
    e-mail or chat contact for them (actor: the agent), or the mailbox intake opens one for a new
    e-mail thread (actor None, channel e-mail). Refusals are field errors."""
    now = now or timezone.now()
    by_staff = actor is None or actor.pk != customer.pk  # the intake may choose the channel too
    if actor is not None and by_staff and not _is_worker(actor):
        raise NotAllowed()
    actor = actor or customer
    errors = {}
    try:
        subject = _text(subject, "subject", SUBJECT_MAX, _("Say in a few words what it is about."))
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        body = _text(body, "body", BODY_MAX, _("Describe your question or the problem."))
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if category not in Category.values:
        errors["category"] = [_("Choose what it is about.")]
    if priority not in Priority.values or (not by_staff and priority not in (Priority.NORMAL, Priority.HIGH)):
        errors["priority"] = [_("Choose a priority.")]
    if channel not in Channel.values or (not by_staff and channel != Channel.PORTAL):
        errors["channel"] = [_("Choose how the customer reached us.")]
    if order is not None and order.customer_id != customer.pk:
        errors["order"] = [_("Choose one of the customer's orders.")]
    if related_case is not None and related_case.customer_id != customer.pk:
        errors["related_case"] = [_("Choose one of the customer's cases.")]
    if errors:
        raise ValidationFailed(fields=errors)
    if order is None and related_case is not None:
        order = related_case.order

    case = case_services.open_case(
        kind=CaseKind.TICKET,
        customer=customer,
        order=order,
        subject=subject,
        actor=actor,
        note=body,
        data={"reply": "customer", "channel": channel},
    )
    ticket = Ticket(
        case=case,
        category=category,
        priority=priority,
        channel=channel,
        team=first_line_team(),
        product=product,
        related_case=related_case,
        customer_tier=customer.tier,
    )
    clock.start(ticket, case.opened_at)
    ticket.save()
    add_attachments(case=case, uploaded_by=actor, uploads=list(photos))
    if related_case is not None:
        case_services.add_note(
            case=related_case,
            actor=None,
            note=_("Support ticket %(number)s opened about this case.") % {"number": case.number},
            public=True,
            data={"linked_case": case.number},
        )
    clock.refresh(case, ticket, case.opened_at)
    acknowledgement = notify(
        user=customer,
        case=case,
        title=lambda: _("We received your question: %(number)s") % {"number": case.number},
        body=lambda: (
            _("%(subject)s\nWe answer within %(hours)s business hour(s).")
            % {"subject": subject, "hours": _hours(ticket.first_response_minutes)}
        ),
    )
    # As ticket mail, so the customer's answer to it threads onto this ticket (R-SUP-1).
    mail.thread_notification_on_commit(case=case, notification=acknowledgement, automatic=True)
    return case


def _hours(minutes_: int) -> str:
    hours = minutes_ / 60
    return f"{hours:g}"


@transaction.atomic
def reply(
    *, case: Case, actor, body: str, public: bool = True, then: str = "", photos=(), now: datetime | None = None
) -> CaseEvent:
    """R-SUP-4: staff answer the customer (public) or leave an internal note. A public answer meets
    the first/next response target and accepts a new ticket; `then` moves it on ("ask_customer":
    wait for the customer, pausing the clock; "resolve")."""
    if not _is_worker(actor):
        raise NotAllowed()
    body = _text(body, "body", BODY_MAX, _("Write the reply."))
    if then not in ("", "ask_customer", "resolve") or (then and not public):
        raise ValidationFailed(fields={"then": [_("Only a reply to the customer can move the ticket on.")]})
    now = now or timezone.now()
    case, ticket = _locked(case)
    if case.status == CLOSED:
        raise InvalidTransition(_("The ticket is closed."))
    # Images go on the case (the customer sees a case's images, so they belong to public answers).
    if not public:
        if photos:
            raise ValidationFailed(fields={"photos": [_("Images are sent with a reply to the customer.")]})
        return case_services.add_note(case=case, actor=actor, note=body, public=False, data={"reply": "note"})

    if case.status == NEW:
        case = _move(case, "accept", actor, public=False)
    if case.assignee_id is None:
        Case.objects.filter(pk=case.pk).update(assignee=actor)
        case.assignee = actor
    event = case_services.add_note(case=case, actor=actor, note=body, public=True, data={"reply": "agent"})
    add_attachments(case=case, uploaded_by=actor, uploads=list(photos))
    clock.answered(ticket, now)
    if then == "ask_customer" and case.status in (NEW, OPEN):
        case = _move(case, "ask_customer", actor, public=False)
        clock.pause(ticket, now)
        ticket.waiting_since, ticket.reminded_at = now, None
    elif then == "resolve":
        case = _resolve(case, ticket, actor, now)
    clock.refresh(case, ticket, now)
    _tell_customer_of_reply(case, event)
    return event


def _tell_customer_of_reply(case: Case, event: CaseEvent) -> None:
    """The portal notification, and an e-mail that threads with the customer's mail client (the
    notification is then marked e-mailed, so it is not sent twice)."""
    notification = notify(
        user=case.customer,
        case=case,
        title=lambda: _("Re: %(subject)s [%(number)s]") % {"subject": case.subject, "number": case.number},
        body=lambda: event.note,
    )
    mail.thread_reply_on_commit(event, notification)


@transaction.atomic
def customer_reply(*, case: Case, customer, body: str, photos=(), now: datetime | None = None) -> CaseEvent:
    """The customer writes on their ticket. Waiting on them → the clock resumes; resolved → the
    ticket reopens; after an answer, a next-response round starts. A closed ticket takes no more
    messages (the portal offers a new ticket about it)."""
    if customer.pk != case.customer_id:
        raise NotAllowed()
    body = _text(body, "body", BODY_MAX, _("Write your message."))
    now = now or timezone.now()
    case, ticket = _locked(case)
    if case.status == CLOSED:
        raise InvalidTransition(_("This ticket is closed. Open a new one about it."))
    if case.status == WAITING:
        case = _move(case, "customer_replied", customer, public=False)
        clock.resume(ticket, now)
        ticket.waiting_since = ticket.reminded_at = None
    elif case.status == RESOLVED:
        case = _move(case, "reopen", customer, public=False)
        clock.resume(ticket, now)
        ticket.resolved_at = None
    event = case_services.add_note(case=case, actor=customer, note=body, public=True, data={"reply": "customer"})
    add_attachments(case=case, uploaded_by=customer, uploads=list(photos))
    clock.customer_wrote(ticket, now)
    clock.refresh(case, ticket, now)
    if case.assignee_id:
        notify(
            user=case.assignee,
            case=case,
            title=lambda: _("%(number)s: the customer wrote") % {"number": case.number},
            body=lambda: body,
        )
    return event


@transaction.atomic
def assign(*, case: Case, actor, assignee=None, team: Team | None = None, now: datetime | None = None) -> Case:
    """Give the ticket to an agent (or nobody) and/or a team. Only staff who work tickets."""
    if not _is_worker(actor):
        raise NotAllowed()
    if assignee is not None and not _is_worker(assignee):
        raise ValidationFailed(fields={"assignee": [_("Choose a member of staff who works tickets.")]})
    now = now or timezone.now()
    case, ticket = _locked(case)
    if case.status == CLOSED:
        raise InvalidTransition(_("The ticket is closed."))
    changes = {}
    if case.assignee_id != (assignee.pk if assignee else None):
        changes["assignee"] = str(assignee) if assignee else ""
        Case.objects.filter(pk=case.pk).update(assignee=assignee, updated_at=now)
        case.assignee = assignee
    if team is not None and team.pk != ticket.team_id:
        changes["team"] = team.code
        ticket.team = team
    if changes:
        note = _("Assigned to %(who)s, team %(team)s.") % {"who": case.assignee or _("nobody"), "team": ticket.team}
        case_services.add_note(case=case, actor=actor, note=note, public=False, data={"assigned": changes})
        clock.refresh(case, ticket, now)
        if assignee is not None and assignee.pk != actor.pk:
            notify(
                user=assignee,
                case=case,
                title=lambda: _("%(number)s is yours: %(subject)s") % {"number": case.number, "subject": case.subject},
            )
    return case


@transaction.atomic
def set_priority(*, case: Case, actor, priority: str, category: str = "", now: datetime | None = None) -> Case:
    """Triage (R-SUP-2): the priority or category changes, and so may the SLA policy; the due moments
    are computed again from the opening, the time already used still counting."""
    if not _is_worker(actor):
        raise NotAllowed()
    if priority not in Priority.values:
        raise ValidationFailed(fields={"priority": [_("Choose a priority.")]})
    if category and category not in Category.values:
        raise ValidationFailed(fields={"category": [_("Choose a category.")]})
    now = now or timezone.now()
    case, ticket = _locked(case)
    if case.status == CLOSED:
        raise InvalidTransition(_("The ticket is closed."))
    before = (ticket.priority, ticket.category)
    ticket.priority, ticket.category = priority, category or ticket.category
    if (ticket.priority, ticket.category) == before:
        return case
    clock.apply_policy(ticket, opened_at=case.opened_at, now=now)
    case_services.add_note(
        case=case,
        actor=actor,
        note=_("Priority %(priority)s, category %(category)s.")
        % {"priority": ticket.get_priority_display(), "category": ticket.get_category_display()},
        public=False,
        data={"triage": {"priority": ticket.priority, "category": ticket.category}},
    )
    clock.refresh(case, ticket, now)
    return case


@transaction.atomic
def escalate(
    *, case: Case, actor, reason: str, team: Team | None = None, assignee=None, version: int | None = None, now=None
) -> Case:
    """R-SUP-2: first line hands a problem it cannot solve to technical support, with the reason.
    The ticket keeps its clock; the team lead is told."""
    if actor is None or not actor.has_perm(ESCALATE) or not _is_worker(actor):
        raise NotAllowed()
    reason = _text(reason, "reason", 2000, _("Say why technical support is needed."))
    team = team or technical_team()
    if team.tier != 2:
        raise ValidationFailed(fields={"team": [_("Escalate to a technical support team.")]})
    if assignee is not None and not _is_worker(assignee):
        raise ValidationFailed(fields={"assignee": [_("Choose a member of staff who works tickets.")]})
    now = now or timezone.now()
    case, ticket = _locked(case, version=version)
    if case.status in (RESOLVED, CLOSED):
        raise InvalidTransition(_("Only an open ticket can be escalated."))
    if ticket.team.tier == 2:
        raise PolicyRefused(_("The ticket is already with technical support."), rule="R-SUP-2")
    if case.status == NEW:
        case = _move(case, "accept", actor, public=False)
    ticket.team, ticket.escalated_at = team, now
    Case.objects.filter(pk=case.pk).update(assignee=assignee, updated_at=now)
    case.assignee = assignee
    case_services.add_note(
        case=case,
        actor=actor,
        note=_("Escalated to %(team)s: %(reason)s") % {"team": team, "reason": reason},
        public=False,
        data={"escalated_to": team.code, "reason": reason},
    )
    case_services.add_note(
        case=case,
        actor=None,
        note=_("Your question has been passed to our technical support team."),
        public=True,
        data={"escalated": True},
    )
    clock.refresh(case, ticket, now)
    for person in {p for p in (team.lead, assignee) if p is not None}:
        notify(
            user=person,
            case=case,
            title=lambda: _("Escalated to %(team)s: %(number)s") % {"team": team, "number": case.number},
            body=lambda: reason,
        )
    return case


def _resolve(case: Case, ticket: Ticket, actor, now: datetime) -> Case:
    case = _move(case, "resolve", actor)
    clock.pause(ticket, now)
    if ticket.first_responded_at:  # a resolution answers any message still waiting for a reply
        clock.answered(ticket, now)
    ticket.resolved_at, ticket.waiting_since, ticket.reminded_at = now, None, None
    return case


@transaction.atomic
def resolve(*, case: Case, actor, note: str = "", version: int | None = None, now: datetime | None = None) -> Case:
    """Staff mark the problem solved, with a last public answer (`note`) or without; the customer may
    reopen it by replying, and it closes by itself after the settings' days (R-SUP-6), which asks for
    a rating (R-FB-1). `version`: the case version the caller saw (a stale post is a conflict)."""
    if not _is_worker(actor):
        raise NotAllowed()
    now = now or timezone.now()
    if note.strip():
        _locked(case, version=version)  # held until the reply below commits
        reply(case=case, actor=actor, body=note, then="resolve", now=now)
        return Case.objects.get(pk=case.pk)
    case, ticket = _locked(case, version=version)
    if case.status not in (NEW, OPEN, WAITING):
        raise InvalidTransition()
    case = _resolve(case, ticket, actor, now)
    clock.refresh(case, ticket, now)
    notify(
        user=case.customer,
        case=case,
        title=lambda: _("%(number)s is resolved") % {"number": case.number},
        body=lambda: _("Reply if the problem is not solved and we will carry on."),
    )
    return case


@transaction.atomic
def close(*, case: Case, actor, note: str = "", version: int | None = None, now: datetime | None = None) -> Case:
    if not _is_worker(actor):
        raise NotAllowed()
    now = now or timezone.now()
    case, ticket = _locked(case, version=version)
    if case.status == CLOSED:
        raise InvalidTransition()
    case = case_services.transition(case=case, name="close", actor=actor, note=note.strip())
    clock.pause(ticket, now)
    ticket.resolved_at = ticket.resolved_at or now
    ticket.waiting_since = ticket.reminded_at = None
    clock.refresh(case, ticket, now)
    return case


@transaction.atomic
def reopen(*, case: Case, actor, note: str = "", version: int | None = None, now: datetime | None = None) -> Case:
    """Staff reopen a resolved ticket (customers reopen one by replying)."""
    if not _is_worker(actor):
        raise NotAllowed()
    now = now or timezone.now()
    case, ticket = _locked(case, version=version)
    if case.status != RESOLVED:
        raise InvalidTransition()
    case = _move(case, "staff_reopen", actor, note=note.strip(), public=False)
    clock.resume(ticket, now)
    ticket.resolved_at = None
    clock.refresh(case, ticket, now)
    return case


def reopen_after_rating(*, case: Case, feedback) -> None:
    """R-FB-1: a rating of 1–2 on a closed ticket reopens it, and the team lead hears of it."""
    now = timezone.now()
    case, ticket = _locked(case)
    if case.status != CLOSED:
        return
    case = _move(
        case,
        "reopen_after_rating",
        None,
        note=_("Reopened: the customer rated it %(rating)d/5.") % {"rating": feedback.rating},
        data={"rating": feedback.rating},
    )
    clock.resume(ticket, now)
    ticket.resolved_at = None
    clock.refresh(case, ticket, now)
    for person in {p for p in (case.assignee, ticket.team.lead) if p is not None}:
        notify(
            user=person,
            case=case,
            title=lambda: (
                _("%(number)s reopened after a %(rating)d/5 rating")
                % {"number": case.number, "rating": feedback.rating}
            ),
            body=lambda: feedback.comment,
        )


def remind_waiting(*, case_ids: list[int], now: datetime) -> None:
    """R-SUP-6: the sweeper's `remind` action: tell each customer we are waiting on them, then let
    the ticket close by itself if they stay silent."""
    for ticket in Ticket.objects.filter(case_id__in=case_ids, case__status=WAITING).select_related("case__customer"):
        case = ticket.case
        ticket.reminded_at = now
        clock.refresh(case, ticket, now)
        notify(
            user=case.customer,
            case=case,
            title=lambda case=case: _("We are waiting for your reply: %(number)s") % {"number": case.number},
            body=lambda case=case: (
                _("Reply by %(date)s or the ticket will be closed.")
                % {"date": f"{timezone.localtime(case.deadline_at):%Y-%m-%d}"}
            ),
        )


def auto_close(*, case_ids: list[int], now: datetime) -> None:
    """R-SUP-6: the sweeper's `auto_close` action: a ticket still waiting on its customer after the
    reminder, or resolved and not reopened, closes; the customer is asked to rate it (R-FB-1)."""
    for case in Case.objects.filter(id__in=case_ids, status__in=(WAITING, RESOLVED)).order_by("id"):
        ticket = Ticket.objects.select_related("team").get(pk=case.pk)
        waited = case.status == WAITING
        case = case_services.transition(
            case=case,
            name="auto_close",
            note=_("Closed automatically: we had no reply for %(days)d days (R-SUP-6).")
            % {"days": SupportSettings.current().close_after_days}
            if waited
            else _("Closed automatically: resolved, and not reopened."),
        )
        clock.pause(ticket, now)
        ticket.resolved_at = ticket.resolved_at or now
        ticket.waiting_since = ticket.reminded_at = None
        clock.refresh(case, ticket, now)


@transaction.atomic
def open_repair(
    *, case: Case, actor, line, fault: str, description: str, remedy: str, documents=(), mode: str = ""
) -> Case:
    """R-SUP-2: a technician turns the ticket into a repair or exchange for the customer, through the
    warranty app (its rules apply: coverage, documents, R-WAR-9). Both timelines link each other."""
    from warranty.services import claims as warranty_claims

    if not _is_worker(actor) or not actor.has_perm(REPAIR):
        raise NotAllowed()
    case, ticket = _locked(case)
    if case.status == CLOSED:
        raise InvalidTransition(_("The ticket is closed."))
    if line.order.customer_id != case.customer_id:
        raise ValidationFailed(fields={"line": [_("Choose an item the customer bought.")]})
    extra = {"mode": mode} if mode else {}
    opened = warranty_claims.file_claim(
        customer=case.customer,
        line=line,
        fault=fault,
        description=description,
        remedy=remedy,
        documents=documents,
        **extra,
    )
    ticket.linked_cases.add(opened)
    case_services.add_note(
        case=case,
        actor=actor,
        note=_("Opened %(number)s for %(product)s.") % {"number": opened.number, "product": line.product_name},
        public=True,
        data={"linked_case": opened.number},
    )
    case_services.add_note(
        case=opened,
        actor=actor,
        note=_("Opened from support ticket %(number)s.") % {"number": case.number},
        public=True,
        data={"linked_case": case.number},
    )
    return opened
