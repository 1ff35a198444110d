"""Writes on refunds (R-FIN-1 … R-FIN-4). `request_refund` is the one door every app uses to ask for
money back; finance staff approve, hold, reject, retry and resolve through the functions below. Each
locks the refund row, checks the state and who acts, changes it and records an event."""

from collections.abc import Callable
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common.errors import InvalidTransition, NotAllowed, PolicyRefused, ValidationFailed
from aftersales.common.locks import lock_one
from aftersales.orders.models import Order

from .models import Refund, RefundApproval, RefundEvent, RefundSettings

State = Refund.State
APPROVE_PERMISSION = "finance.approve_refund"
# Each finance decision and the states it starts from (the dashboard offers exactly these).
DECISIONS = {
    "approve": (State.PENDING_APPROVAL,),
    "hold": (State.PENDING_APPROVAL, State.APPROVED),
    "release": (State.HELD,),
    "reject": (State.PENDING_APPROVAL, State.HELD),
    "retry": (State.FAILED,),
    "resolve": (State.FAILED,),
}


def refunded_or_pending(order: Order) -> Decimal:
    """What the order's refunds take, counting every refund not rejected, less what was revoked."""
    refunds = order.refunds.exclude(state=Refund.State.REJECTED)
    total = refunds.aggregate(total=Sum(F("amount") - F("revoked_amount")))["total"]
    return Decimal(total or 0).quantize(Decimal("0.01"))  # SQLite sums decimals as binary floats


def _event(refund: Refund, *, action: str, actor=None, from_state: str = "", note: str = "", data=None) -> RefundEvent:
    return RefundEvent(
        refund=refund,
        at=timezone.now(),
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=refund.state,
        note=note,
        data=data or {},
    )


def record_event(refund: Refund, **event) -> None:
    _event(refund, **event).save()


def record_events(refunds: list[Refund], *, data: Callable[[Refund], dict], **event) -> None:
    """The same event for each of `refunds` (a batch a worker claimed), `data` of each its own."""
    RefundEvent.objects.bulk_create([_event(refund, data=data(refund), **event) for refund in refunds])


def move(refund: Refund, to: str, *, action: str, actor=None, note: str = "", data=None, **fields) -> Refund:
    """Set the (locked) refund's state and fields and record the event. An approved refund that a
    gateway pays is handed to a worker once this transaction commits (the periodic sweep catches
    any nudge that is lost)."""
    from_state = refund.state
    refund.state = to
    for name, value in fields.items():
        setattr(refund, name, value)
    refund.save(update_fields=["state", "updated_at", *fields])
    record_event(refund, action=action, actor=actor, from_state=from_state, note=note, data=data)
    if to == State.APPROVED and refund.destination == Refund.Destination.ORIGINAL_PAYMENT:
        transaction.on_commit(_nudge_execution)
    if to == State.APPROVED and refund.is_internal:
        refund = _pay_internal(refund)
    return refund


def _pay_internal(refund: Refund) -> Refund:
    """R-FIN-2: an internal destination is paid at once, in the approving transaction, by the
    ledger (which credits each refund once, whatever repeats)."""
    from . import ledger

    customer, kind = refund.order.customer, ledger.LedgerKind.REFUND
    note = refund.case.number if refund.case_id else refund.order.number
    if refund.destination == Refund.Destination.BALANCE:
        entry = ledger.credit_balance(customer=customer, amount=refund.amount, kind=kind, refund=refund, note=note)
        reference = f"balance:{entry.pk}"
    elif refund.destination == Refund.Destination.COUPON:
        coupon = ledger.issue_coupon(customer=customer, amount=refund.amount, refund=refund, note=note)
        reference = f"coupon:{coupon.code}"
    else:
        points = int(refund.amount * settings.REFUND_POINTS_PER_CURRENCY_UNIT)
        entry = ledger.credit_points(customer=customer, points=points, kind=kind, refund=refund, note=note)
        reference = f"points:{entry.pk}"
    return mark_refund_paid(refund=refund, gateway_reference=reference)


def _nudge_execution() -> None:
    from .execution import nudge

    nudge()


# --- Asking for a refund ----------------------------------------------------------------------------


@transaction.atomic
def request_refund(
    *,
    order: Order,
    source: str,
    amount: Decimal,
    idempotency_key: str,
    case=None,
    requested_by=None,
    destination: str = Refund.Destination.ORIGINAL_PAYMENT,
    bank_account_name: str = "",
    bank_name: str = "",
    bank_account_number: str = "",
) -> Refund:
    """Queue a refund for finance. Idempotent by key; the order row is locked so that the sum of its
    refunds never exceeds what it paid (R-RET-13), however many requests race — database triggers
    (migration 0002_refunds_within_paid_total) hold the same line for any other writer.

    Refunds above the configured amount need two approvers (R-FIN-3); refunds to an internal
    destination (balance, coupon, points) up to the configured amount are approved at once."""
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    if amount <= 0:
        raise ValidationFailed(fields={"amount": [_("A refund must be more than zero.")]})
    if destination not in Refund.Destination.values:
        raise ValidationFailed(fields={"destination": [_("Unknown refund destination.")]})
    if destination == Refund.Destination.BANK_TRANSFER and not (
        bank_account_name.strip() and bank_account_number.strip()
    ):
        raise ValidationFailed(
            fields={"bank_account_number": [_("A bank transfer needs the account holder and the account number.")]}
        )
    order = lock_one(Order, order.pk)
    if refunded_or_pending(order) + amount > order.paid_total:
        raise PolicyRefused(_("Refunds on an order can never exceed what was paid for it."), rule="R-RET-13")
    knobs = RefundSettings.current()
    refund = Refund.objects.create(
        order=order,
        case=case,
        source=source,
        amount=amount,
        idempotency_key=idempotency_key,
        requested_by=requested_by,
        destination=destination,
        bank_account_name=bank_account_name.strip(),
        bank_name=bank_name.strip(),
        bank_account_number=bank_account_number.strip(),
        approvals_required=2 if amount > knobs.second_approval_above else 1,
    )
    record_event(refund, action="requested", actor=requested_by)
    if refund.is_internal and amount <= knobs.auto_approve_internal_up_to:
        refund = move(
            refund, State.APPROVED, action="auto_approved", note=_("Approved automatically (internal destination).")
        )
    return refund


# --- Finance's decisions (R-FIN-3) --------------------------------------------------------------------


def case_deciders(refund: Refund) -> set[int]:
    """The staff who moved the refund's case (approved, inspected, …): they may not approve its money."""
    if refund.case_id is None:
        return set()
    from aftersales.cases.models import CaseEvent

    actors = CaseEvent.objects.filter(case_id=refund.case_id, type=CaseEvent.Type.TRANSITION, actor__isnull=False)
    return set(actors.exclude(actor_id=refund.case.customer_id).values_list("actor_id", flat=True))


def require_finance(actor) -> None:
    if actor is None or not actor.has_perm(APPROVE_PERMISSION):
        raise NotAllowed()


def _locked(refund: Refund, *states: str) -> Refund:
    refund = lock_one(Refund, refund.pk)
    if states and refund.state not in states:
        raise InvalidTransition(_("This refund is %(state)s.") % {"state": refund.get_state_display()})
    return refund


@transaction.atomic
def approve_refund(*, refund: Refund, actor, note: str = "") -> Refund:
    """R-FIN-3: one approval; the refund is approved when it has as many approvals, from different
    people, as its amount requires. Nobody approves a refund they requested or whose case they
    decided."""
    require_finance(actor)
    refund = _locked(refund, *DECISIONS["approve"])
    if refund.requested_by_id == actor.pk:
        raise PolicyRefused(_("You requested this refund; another finance approver must approve it."), rule="R-FIN-3")
    if actor.pk in case_deciders(refund):
        raise PolicyRefused(
            _("You decided this refund's case; another finance approver must approve it."), rule="R-FIN-3"
        )
    if refund.approvals.filter(approver=actor).exists():
        raise PolicyRefused(
            _("You have approved this refund already; a second, different approver is needed."), rule="R-FIN-3"
        )
    RefundApproval.objects.create(refund=refund, approver=actor, at=timezone.now())
    count = refund.approvals.count()
    if count < refund.approvals_required:
        record_event(refund, action="first_approval", actor=actor, from_state=refund.state, note=note)
        return refund
    return move(refund, State.APPROVED, action="approved", actor=actor, note=note)


@transaction.atomic
def hold_refund(*, refund: Refund, actor, reason: str) -> Refund:
    """Stop a refund before it is paid, with a reason (a suspected fraud, a question to the shop)."""
    require_finance(actor)
    reason = _required(reason, "reason", _("Say why the refund is held."))
    refund = _locked(refund, *DECISIONS["hold"])
    return move(refund, State.HELD, action="held", actor=actor, note=reason, reason=reason, next_attempt_at=None)


@transaction.atomic
def release_refund(*, refund: Refund, actor, note: str = "") -> Refund:
    """A held refund goes back for approval (its earlier approvals are kept)."""
    require_finance(actor)
    refund = _locked(refund, *DECISIONS["release"])
    to = State.APPROVED if refund.approvals.count() >= refund.approvals_required else State.PENDING_APPROVAL
    return move(refund, to, action="released", actor=actor, note=note)


@transaction.atomic
def reject_refund(*, refund: Refund, actor, reason: str) -> Refund:
    """No money moves; the amount no longer counts against the order's cap, and the case it came
    from goes back to an agent."""
    require_finance(actor)
    reason = _required(reason, "reason", _("Say why the refund is rejected."))
    refund = _locked(refund, *DECISIONS["reject"])
    refund = move(refund, State.REJECTED, action="rejected", actor=actor, note=reason, reason=reason)
    _tell_case_apps(REJECTED, refund)
    return refund


@transaction.atomic
def retry_refund(*, refund: Refund, actor, note: str = "") -> Refund:
    """A failed refund is tried again (with the same idempotency key, so it cannot be paid twice)."""
    require_finance(actor)
    refund = _locked(refund, *DECISIONS["retry"])
    return move(refund, State.APPROVED, action="retried", actor=actor, note=note, next_attempt_at=None)


@transaction.atomic
def resolve_refund(*, refund: Refund, actor, note: str, reference: str = "") -> Refund:
    """A failed refund was settled outside the system (by hand); the note says how. It counts as
    paid: the case it belongs to moves on."""
    require_finance(actor)
    note = _required(note, "note", _("Say how the refund was settled."))
    refund = _locked(refund, *DECISIONS["resolve"])
    refund = move(
        refund,
        State.RESOLVED,
        action="resolved",
        actor=actor,
        note=note,
        reason=note,
        gateway_reference=(reference or "").strip()[:100] or refund.gateway_reference,
        paid_at=timezone.now(),
    )
    _tell_case_apps(PAID, refund)
    return refund


def _required(text: str, field: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(fields={field: [message]})
    return text[:2000]


# --- Settlement -------------------------------------------------------------------------------------
# Feature apps register what happens to their cases when a refund is paid (a return completes) or
# rejected (the case goes back to an agent), so finance never imports them.
PAID, REJECTED = "paid", "rejected"
_handlers: dict[tuple[str, str], list[Callable]] = {}


def on_refund(event: str, source: str, handler: Callable) -> None:
    """Call `handler(refund=…)` inside the transaction that marks a refund of `source` paid (`PAID`)
    or rejected (`REJECTED`)."""
    handlers = _handlers.setdefault((event, source), [])
    if handler not in handlers:
        handlers.append(handler)


def _tell_case_apps(event: str, refund: Refund) -> None:
    for handler in _handlers.get((event, refund.source), []):
        handler(refund=refund)


@transaction.atomic
def mark_refund_paid(*, refund: Refund, gateway_reference: str = "") -> Refund:
    """The money reached the customer. Idempotent: a refund already paid is returned unchanged."""
    return mark_locked_refund_paid(lock_one(Refund, refund.pk), gateway_reference=gateway_reference)


def mark_locked_refund_paid(refund: Refund, *, gateway_reference: str = "") -> Refund:
    """mark_refund_paid for a refund the caller has locked in its transaction (the executor)."""
    if refund.state in (State.SUCCEEDED, State.RESOLVED):
        return refund
    if refund.state not in (State.APPROVED, State.PROCESSING):  # never before its approvals
        raise InvalidTransition(_("This refund is %(state)s.") % {"state": refund.get_state_display()})
    refund = move(
        refund,
        State.SUCCEEDED,
        action="paid",
        gateway_reference=gateway_reference or refund.gateway_reference,
        paid_at=timezone.now(),
        next_attempt_at=None,
        last_error="",
    )
    _tell_case_apps(PAID, refund)
    return refund


@transaction.atomic
def revoke_refund(*, refund: Refund, amount: Decimal, note: str, actor=None) -> Refund:
    """Take `amount` of a paid refund back (R-PP-6: its coupon was cancelled before use), so it stops
    counting against the order's paid total. The caller recovers the money itself (cancels the coupon)
    and keeps the revocation idempotent; this only books it, under the refund's row lock."""
    refund = lock_one(Refund, refund.pk)
    if refund.state not in (State.SUCCEEDED, State.RESOLVED):
        raise InvalidTransition(_("This refund is %(state)s.") % {"state": refund.get_state_display()})
    if amount <= 0 or refund.revoked_amount + amount > refund.amount:
        raise ValidationFailed(fields={"amount": [_("More than what is left of the refund.")]})
    refund.revoked_amount += amount
    refund.save(update_fields=["revoked_amount", "updated_at"])
    record_event(
        refund, action="revoked", actor=actor, from_state=refund.state, note=note, data={"amount": str(amount)}
    )
    return refund
