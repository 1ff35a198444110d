"""R-FB-1 after-care: the supervisor task a low rating opens, the follow-up calls (回访) agents log,
and completing or handing over a follow-up.

A follow-up is done once: completing locks its row (`aftersales.common.locks.lock_one`) and refuses
with `TransitionConflict` when someone else completed it first. Every write leaves an internal
(staff-only) note on the case's timeline; e-mails leave after commit (`notify`).

Due time of a low-rating task: one business day of working time after the rating
(`calendar.add_business_time` with the length of a working day from BUSINESS_HOURS), the way SLA
clocks count. A rating left during working hours is due at the same working moment of the next
business day; one left at night, on a weekend or a holiday is due at the close of the next business
day. Holidays and make-up working days (调休) come from the business calendar.
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from aftersales.accounts import roles
from aftersales.common.errors import NotAllowed, TransitionConflict, ValidationFailed
from aftersales.common.locks import lock_one

from . import calendar
from .models import Case, CaseEvent, Feedback, FollowUp
from .notifications import notify


def business_day_length() -> timedelta:
    """The working time of one business day (BUSINESS_HOURS' ranges added up)."""
    day = date.min
    return sum(
        (datetime.combine(day, end) - datetime.combine(day, begin) for begin, end in calendar.working_hours()),
        timedelta(0),
    )


def due_after_low_rating(moment: datetime) -> datetime:
    return calendar.add_business_time(moment, business_day_length())


def supervisors():
    return get_user_model().objects.filter(groups__name=roles.SUPERVISOR, is_active=True).distinct().order_by("pk")


def _dashboard_url(follow_up: FollowUp) -> str:
    return settings.PORTAL_URL + reverse("admin:cases_followup_change", args=[follow_up.pk])


def _internal_note(*, case: Case, actor, note: str, data: dict) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case, at=timezone.now(), type=CaseEvent.Type.NOTE, actor=actor, note=note, data=data, public=False
    )


def open_low_rating_task(*, case: Case, feedback: Feedback) -> FollowUp:
    """A supervisor task for a low rating on a case whose kind has no `on_low_rating` hook. Called by
    `services.leave_feedback` inside its transaction, with the case row locked; every supervisor is
    told (the notice now, its e-mail after commit)."""
    now = timezone.now()
    # Stored text is in the shop's language, whoever's request wrote it.
    with translation.override(settings.LANGUAGE_CODE):
        reason = _("Rated %(rating)d/5 by the customer.") % {"rating": feedback.rating}
    follow_up = FollowUp.objects.create(
        case=case,
        kind=FollowUp.Kind.TASK,
        feedback=feedback,
        reason=reason,
        created_at=now,
        due_at=due_after_low_rating(now),
    )
    _internal_note(case=case, actor=None, note=reason, data={"follow_up": follow_up.pk, "kind": follow_up.kind})
    url = _dashboard_url(follow_up)
    values = {"number": case.number, "rating": feedback.rating}
    due = timezone.localtime(follow_up.due_at).strftime("%Y-%m-%d %H:%M")
    for supervisor in supervisors():
        notify(
            user=supervisor,
            case=case,
            title=lambda: _("Low rating on %(number)s: %(rating)d/5") % values,
            body=lambda: _low_rating_body(feedback, due=due, url=url),
        )
    return follow_up


def _low_rating_body(feedback: Feedback, *, due: str, url: str) -> str:
    lines = [_("What mattered most: %(reason)s") % {"reason": feedback.get_reason_display() or "–"}]
    if feedback.comment:
        lines.append(_("Comment: %(comment)s") % {"comment": feedback.comment})
    lines.append(_("Please follow up by %(due)s: %(url)s") % {"due": due, "url": url})
    return "\n".join(lines)


def _required_outcome(outcome: str) -> str:
    outcome = (outcome or "").strip()
    if not outcome:
        raise ValidationFailed(fields={"outcome": [_("Write what came of the follow-up.")]})
    return outcome


def _check_perm(actor, perm: str) -> None:
    if actor is None or not actor.has_perm(perm):
        raise NotAllowed()


@transaction.atomic
def log_follow_up_call(*, case: Case, actor, outcome: str, rating_confirmed: bool | None = None) -> FollowUp:
    """An agent called the customer about `case` (回访): a done follow-up call and an internal note.
    `rating_confirmed`: whether the customer stood by the rating they left (None: not asked; only
    for a rated case)."""
    _check_perm(actor, "cases.add_followup")
    outcome = _required_outcome(outcome)
    feedback = Feedback.objects.filter(case=case).first()
    if rating_confirmed is not None:
        if feedback is None:
            raise ValidationFailed(fields={"rating_confirmed": [_("This case has no rating to confirm.")]})
        values = {"rating": feedback.rating}
        confirmation = (
            _("The customer confirmed their rating of %(rating)d/5.") % values
            if rating_confirmed
            else _("The customer no longer stands by their rating of %(rating)d/5.") % values
        )
        outcome = f"{outcome}\n{confirmation}"
    now = timezone.now()
    follow_up = FollowUp.objects.create(
        case=case,
        kind=FollowUp.Kind.CALL,
        feedback=feedback,
        assignee=actor,
        created_at=now,
        done_at=now,
        done_by=actor,
        outcome=outcome,
    )
    _internal_note(
        case=case,
        actor=actor,
        note=_("Follow-up call: %(outcome)s") % {"outcome": outcome},
        data={"follow_up": follow_up.pk, "kind": follow_up.kind, "rating_confirmed": rating_confirmed},
    )
    return follow_up


@transaction.atomic
def complete_follow_up(*, follow_up: FollowUp, actor, outcome: str) -> FollowUp:
    """Write the outcome of an open follow-up; returns it as stored. TransitionConflict when it is done
    already (completed by someone else meanwhile, or the same form posted twice)."""
    _check_perm(actor, "cases.change_followup")
    outcome = _required_outcome(outcome)
    locked = lock_one(FollowUp, follow_up.pk)
    if locked.done_at is not None:
        raise TransitionConflict(_("This follow-up is done already."))
    locked.done_at, locked.done_by, locked.outcome = timezone.now(), actor, outcome
    locked.save(update_fields=["done_at", "done_by", "outcome"])
    _internal_note(
        case=locked.case,
        actor=actor,
        note=_("Follow-up done: %(outcome)s") % {"outcome": outcome},
        data={"follow_up": locked.pk, "kind": locked.kind, "done": True},
    )
    return locked


def assignable_staff():
    """Who can be given a follow-up: active staff who may complete one."""
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    perm = Permission.objects.filter(content_type__app_label="cases", codename="change_followup")
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(groups__permissions__in=perm) | Q(user_permissions__in=perm))
        .distinct()
        .order_by("email")
    )


@transaction.atomic
def assign_follow_up(*, follow_up: FollowUp, actor, assignee) -> FollowUp:
    """Hand an open follow-up to `assignee` (None: nobody); they are told, unless they assigned it
    to themselves."""
    _check_perm(actor, "cases.change_followup")
    if assignee is not None and not assignable_staff().filter(pk=assignee.pk).exists():
        raise ValidationFailed(fields={"assignee": [_("This person cannot work on follow-ups.")]})
    locked = lock_one(FollowUp, follow_up.pk)
    if locked.done_at is not None:
        raise TransitionConflict(_("This follow-up is done already."))
    locked.assignee = assignee
    locked.save(update_fields=["assignee"])
    note = _("Follow-up assigned to %(name)s.") % {"name": assignee} if assignee else _("Follow-up unassigned.")
    data = {"follow_up": locked.pk, "assignee": locked.assignee_id}
    _internal_note(case=locked.case, actor=actor, note=note, data=data)
    if assignee is not None and assignee.pk != actor.pk:
        case, url = locked.case, _dashboard_url(locked)
        notify(
            user=assignee,
            case=case,
            title=lambda: _("Follow-up on %(number)s assigned to you") % {"number": case.number},
            body=lambda: url,
        )
    return locked
