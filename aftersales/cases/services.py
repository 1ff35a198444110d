"""Every write on a case goes through here: open, transition, note, deadline.

A transition is one compare-and-set UPDATE (`WHERE id = … AND status IN sources`): the row lock is
taken by that statement, zero rows means another writer won, and the caller gets
`TransitionConflict`. The same transaction writes the timeline event; notifications leave after
commit.
"""

from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common.errors import InvalidTransition, NotAllowed, TransitionConflict, ValidationFailed
from aftersales.common.locks import lock_one

from . import followups, workflow
from .models import NUMBER_PREFIX, Case, CaseEvent, Feedback, FeedbackReason, NumberSequence
from .notifications import notify


def next_case_number(kind: str, now: datetime) -> str:
    """RMA-20261123-000042. The counter row is locked by the UPDATE until our commit."""
    prefix = NUMBER_PREFIX[kind]
    last = _bump(prefix)
    if last is None:  # the prefix's first case
        NumberSequence.objects.get_or_create(prefix=prefix)
        last = _bump(prefix)
    return f"{prefix}-{timezone.localdate(now):%Y%m%d}-{last:06d}"


def _bump(prefix: str) -> int | None:
    """The prefix's counter plus one (None: no row yet), in one statement where the ORM takes an UPDATE
    and a SELECT (RETURNING: PostgreSQL, and SQLite since 3.35)."""
    with connection.cursor() as cursor:
        cursor.execute(
            'UPDATE "cases_numbersequence" SET "last" = "last" + 1 WHERE "prefix" = %s RETURNING "last"', [prefix]
        )
        row = cursor.fetchone()
    return row[0] if row else None


def check_allowed(*, case: Case, transition: workflow.Transition, actor) -> None:
    """actor None is the system (services, sweepers); people need the transition's permission."""
    if actor is None:
        return
    if transition.allowed == "system":
        raise NotAllowed()
    if transition.allowed == "customer":
        if actor.pk != case.customer_id:
            raise NotAllowed()
        return
    if not actor.has_perm(transition.allowed):
        raise NotAllowed()


@transaction.atomic
def open_case(
    *,
    kind: str,
    customer,
    order=None,
    subject: str = "",
    actor=None,
    note: str = "",
    deadline_at: datetime | None = None,
    deadline_action: str = "",
    data: dict | None = None,
) -> Case:
    flow = workflow.get(kind)
    _check_deadline(flow, deadline_at, deadline_action)
    now = timezone.now()
    case = Case.objects.create(
        number=next_case_number(kind, now),
        kind=kind,
        customer=customer,
        order=order,
        subject=" ".join(subject.split()),  # one line: it becomes e-mail subjects
        status=flow.initial,
        opened_at=now,
        deadline_at=deadline_at,
        deadline_action=deadline_action if deadline_at else "",
    )
    CaseEvent.objects.create(
        case=case, at=now, type=CaseEvent.Type.OPENED, actor=actor, to_status=case.status, note=note, data=data or {}
    )
    return case


@transaction.atomic
def transition(
    *,
    case: Case,
    name: str,
    actor=None,
    note: str = "",
    data: dict | None = None,
    deadline_at: datetime | None = None,
    deadline_action: str = "",
    public: bool = True,
    notify_customer: bool = True,
    generic: bool = False,
) -> Case:
    """Move `case` along its kind's transition `name`; returns the case as now stored. The customer
    is told of a public move made by someone else, unless the caller moves the case on at once and
    tells them then (`notify_customer=False`). `generic` callers (the case page's buttons, the cases
    API) may not take steps a kind's own services own (`Workflow.staff_steps_url`).

    Raises InvalidTransition when the caller's view of the case does not allow the move, and
    TransitionConflict when it did but a concurrent writer changed the case first."""
    flow = workflow.get(case.kind)
    try:
        t = flow.transitions[name]
    except KeyError:
        raise InvalidTransition() from None
    check_allowed(case=case, transition=t, actor=actor)
    if generic and not workflow.generic_move_allowed(flow, t):
        raise NotAllowed(_("This step is taken on the case's own page, where its details are entered."))
    if case.status not in t.sources:
        raise InvalidTransition()
    _check_deadline(flow, deadline_at, deadline_action)

    now = timezone.now()
    closed_at = now if t.target in flow.final else None
    moved = Case.objects.filter(pk=case.pk, status__in=t.sources, version=case.version).update(
        status=t.target,
        version=F("version") + 1,
        deadline_at=deadline_at,
        deadline_action=deadline_action if deadline_at else "",
        closed_at=closed_at,
        updated_at=now,
    )
    if not moved:
        raise TransitionConflict()

    from_status = case.status
    case.status, case.version, case.closed_at = t.target, case.version + 1, closed_at
    case.deadline_at, case.deadline_action, case.updated_at = deadline_at, deadline_action if deadline_at else "", now
    CaseEvent.objects.create(
        case=case,
        at=now,
        type=CaseEvent.Type.TRANSITION,
        actor=actor,
        from_status=from_status,
        to_status=t.target,
        note=note,
        data={"transition": name, **(data or {})},
        public=public,
    )
    if public and notify_customer and (actor is None or actor.pk != case.customer_id):
        notify(
            user=case.customer,
            case=case,
            title=lambda: (
                _("Case %(number)s: %(status)s") % {"number": case.number, "status": case.get_status_display()}
            ),
            body=lambda: note,
        )
    if t.target in flow.feedback_on:
        invite_feedback(case=case)
    return case


@transaction.atomic
def lock_at_version(*, case: Case) -> Case:
    """For a write on a case's details that moves no status (a repair's part, a payment): lock the row
    and refuse with TransitionConflict when it is no longer at the version the caller read
    (`case.version`: a page's hidden field, an API client's). Returns the locked case, as stored; the
    caller writes, then calls `bump_version`, so the same form posted twice writes once."""
    locked = lock_one(Case, case.pk)
    if locked.version != case.version:
        raise TransitionConflict()
    return locked


@transaction.atomic
def bump_version(*, case: Case, locked: Case) -> Case:
    """Move the version of a case locked by `lock_at_version` on, after its write; `case` (the caller's
    copy) follows, as after a transition."""
    now = timezone.now()
    Case.objects.filter(pk=locked.pk).update(version=F("version") + 1, updated_at=now)
    locked.version, locked.updated_at = locked.version + 1, now
    case.version = locked.version
    return locked


def invite_feedback(*, case: Case) -> None:
    """R-FB-1: ask the customer to rate the closed case (the rating form is on the case page), once:
    a case reopened after its rating (a ticket rated low) is not asked again when it closes."""
    from django.urls import reverse

    if Feedback.objects.filter(case=case).exists():
        return
    url = settings.PORTAL_URL + reverse("portal:case-detail", args=[case.number])
    notify(
        user=case.customer,
        case=case,
        title=lambda: _("How did we do with %(number)s?") % {"number": case.number},
        body=lambda: (
            _("Your case is closed. Please rate our service from 1 to 5 and tell us why: %(url)s") % {"url": url}
        ),
    )


@transaction.atomic
def add_note(
    *, case: Case, actor, note: str, public: bool, data: dict | None = None, generic: bool = False
) -> CaseEvent:
    """A remark on the timeline: public (the customer sees it) or internal (staff only). No actor
    means the system wrote it (another app's service, on the shop's behalf)."""
    if generic and workflow.get(case.kind).own_messages:
        raise NotAllowed(_("Write on this case with its own form, on its page."))
    if actor is None:
        pass
    elif actor.pk == case.customer_id:
        public = True
    elif not actor.has_perm("cases.add_caseevent"):
        raise NotAllowed()
    return CaseEvent.objects.create(
        case=case, at=timezone.now(), type=CaseEvent.Type.NOTE, actor=actor, note=note, public=public, data=data or {}
    )


@transaction.atomic
def set_deadline(*, case: Case, deadline_at: datetime | None, deadline_action: str = "") -> Case:
    """Set, move or clear (None) what the sweeper does to `case` and when, without a transition
    (e.g. a return's ship deadline ends once the customer has shipped)."""
    _check_deadline(workflow.get(case.kind), deadline_at, deadline_action)
    case.deadline_at, case.deadline_action = deadline_at, deadline_action if deadline_at else ""
    Case.objects.filter(pk=case.pk).update(
        deadline_at=case.deadline_at, deadline_action=case.deadline_action, updated_at=timezone.now()
    )
    return case


def _check_deadline(flow: workflow.Workflow, deadline_at, deadline_action: str) -> None:
    if deadline_at is not None and deadline_action not in flow.deadline_actions:
        raise ValueError(f"{flow.kind}: unknown deadline action {deadline_action!r}")


# R-FB-1: at or below this rating the customer must say what mattered most.
REASON_REQUIRED_UP_TO = 3


@transaction.atomic
def leave_feedback(*, case: Case, customer, rating: int, reason: str = "", comment: str = "") -> Feedback:
    """R-FB-1: the case's own customer rates a closed case once (1–5), saying what mattered most
    (required up to REASON_REQUIRED_UP_TO). A low rating (settings.FEEDBACK_LOW_RATING) calls the
    kind's `Workflow.on_low_rating` hook in this transaction, or, for a kind without one, opens a
    supervisor follow-up task (`followups.open_low_rating_task`)."""
    if customer.pk != case.customer_id:
        raise NotAllowed()
    if case.closed_at is None:
        raise ValidationFailed(_("Only a closed case can be rated."))
    errors: dict[str, list] = {}
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        errors["rating"] = [_("Choose a rating from 1 to 5.")]
    reason = (reason or "").strip()
    if reason and reason not in FeedbackReason.values:
        errors["reason"] = [_("Choose one of the reasons listed.")]
    elif not reason and "rating" not in errors and rating <= REASON_REQUIRED_UP_TO:
        errors["reason"] = [_("Tell us what mattered most for this rating.")]
    if errors:
        raise ValidationFailed(fields=errors)
    # One rating per case, even for a double click; the hook gets the case as stored (its version).
    locked = lock_one(Case, case.pk)
    if locked.closed_at is None:  # reopened since the caller read it
        raise ValidationFailed(_("Only a closed case can be rated."))
    if Feedback.objects.filter(case=case).exists():
        raise ValidationFailed(_("This case has already been rated."))
    comment = comment.strip()
    feedback = Feedback.objects.create(case=case, rating=rating, reason=reason, comment=comment)
    CaseEvent.objects.create(
        case=case,
        at=timezone.now(),
        type=CaseEvent.Type.FEEDBACK,
        actor=customer,
        note=comment,
        data={"rating": rating, "reason": reason},
    )
    if rating <= settings.FEEDBACK_LOW_RATING:
        hook = workflow.get(case.kind).on_low_rating
        if hook is not None:
            hook(case=locked, feedback=feedback)
        else:
            followups.open_low_rating_task(case=locked, feedback=feedback)
    return feedback
