"""The ledger of the internal refund destinations (R-FIN-2): store balance, points and coupons.

Balance and points are append-only entries and what a customer has is their sum. Every write of
an entry or a coupon first locks the customer's user row (`locks.lock_one`), so one customer's
ledger changes one transaction at a time: a debit sees every earlier entry, and a retried refund
finds what its first attempt wrote (the unique constraints on `refund` are the backstop). A coupon's
use and cancellation lock the coupon's row. Migration 0004_ledger's triggers refuse a negative
balance and edited entries even when this module is bypassed."""

import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common.errors import InvalidTransition, ValidationFailed
from aftersales.common.locks import lock_one

from .models import CREDIT_KINDS, DEBIT_KINDS, BalanceEntry, Coupon, LedgerKind, PointsEntry, Refund

# No 0/O, 1/I/L: a code is read out on the phone and typed by hand. 31**12 ≈ 2**59: not guessable.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
CENT = Decimal("0.01")


# --- Reads --------------------------------------------------------------------------------------------


def balance_of(customer) -> Decimal:
    # To the cent: SQLite sums decimals as binary floats.
    total = BalanceEntry.objects.filter(customer=customer).aggregate(total=Sum("amount"))["total"]
    return Decimal(total or 0).quantize(CENT)


def points_of(customer) -> int:
    return PointsEntry.objects.filter(customer=customer).aggregate(total=Sum("points"))["total"] or 0


def balance_entries_of(customer) -> QuerySet[BalanceEntry]:
    return BalanceEntry.objects.filter(customer=customer).select_related("refund__case").order_by("-created_at", "-id")


def points_entries_of(customer) -> QuerySet[PointsEntry]:
    return PointsEntry.objects.filter(customer=customer).select_related("refund__case").order_by("-created_at", "-id")


def coupons_of(customer) -> QuerySet[Coupon]:
    return Coupon.objects.filter(customer=customer).order_by("-issued_at", "-id")


def coupon_state(coupon: Coupon, now: datetime | None = None) -> str:
    """The stored state, except that an issued coupon past its expiry is expired."""
    if coupon.state == Coupon.State.ISSUED and coupon.expires_at <= (now or timezone.now()):
        return Coupon.State.EXPIRED
    return coupon.state


def _refused(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={field: [message]})


# --- Balance and points -------------------------------------------------------------------------------


def _lock_customer(customer):
    return lock_one(get_user_model(), customer.pk)


def _check_refund(refund: Refund | None, customer) -> None:
    if refund is not None and refund.order.customer_id != customer.pk:
        raise _refused("refund", _("This refund belongs to another customer."))


def _write_entry(model, field: str, *, customer, value, kind, allowed, refund, note, actor, available_of, refusal):
    """Append one entry of `value` (signed) under the customer's row lock; with a refund, the entry
    already written for (refund, kind) is returned instead of a second one."""
    if kind not in allowed:
        raise _refused("kind", _("This kind of entry cannot be used here."))
    if kind == LedgerKind.REFUND and refund is None:
        raise _refused("refund", _("A refund entry needs its refund."))
    _check_refund(refund, customer)
    customer = _lock_customer(customer)
    if refund is not None:
        existing = model.objects.filter(refund=refund, kind=kind).first()
        if existing is not None:
            return existing
    if value < 0:
        available = available_of(customer)
        if available + value < 0:
            raise _refused(field, refusal % {"available": available})
    return model.objects.create(
        customer=customer, kind=kind, refund=refund, note=note, created_by=actor, **{field: value}
    )


def _money(amount) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0 or amount != amount.quantize(CENT):
        raise _refused("amount", _("Enter an amount above zero, in whole cents."))
    return amount


def _points(points) -> int:
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise _refused("points", _("Enter a whole number of points above zero."))
    return points


@transaction.atomic
def credit_balance(
    *, customer, amount: Decimal, kind: str, refund: Refund | None = None, note: str = "", actor=None
) -> BalanceEntry:
    """Add `amount` (> 0) to the customer's store balance. Kind `refund` needs the refund and
    credits it once: a repeated call returns the first entry (R-FIN-2, R-FIN-4)."""
    return _write_entry(
        BalanceEntry,
        "amount",
        customer=customer,
        value=_money(amount),
        kind=kind,
        allowed=CREDIT_KINDS,
        refund=refund,
        note=note,
        actor=actor,
        available_of=balance_of,
        refusal=_("Not enough store balance: %(available)s available."),
    )


@transaction.atomic
def debit_balance(
    *, customer, amount: Decimal, kind: str, refund: Refund | None = None, note: str = "", actor=None
) -> BalanceEntry:
    """Take `amount` (> 0) from the customer's store balance; refused if the balance would drop below
    zero. With a refund (a revocation, R-PP-6), once per refund and kind."""
    return _write_entry(
        BalanceEntry,
        "amount",
        customer=customer,
        value=-_money(amount),
        kind=kind,
        allowed=DEBIT_KINDS,
        refund=refund,
        note=note,
        actor=actor,
        available_of=balance_of,
        refusal=_("Not enough store balance: %(available)s available."),
    )


@transaction.atomic
def credit_points(
    *, customer, points: int, kind: str, refund: Refund | None = None, note: str = "", actor=None
) -> PointsEntry:
    """Add `points` (> 0); kind `refund` credits its refund once, like `credit_balance`."""
    return _write_entry(
        PointsEntry,
        "points",
        customer=customer,
        value=_points(points),
        kind=kind,
        allowed=CREDIT_KINDS,
        refund=refund,
        note=note,
        actor=actor,
        available_of=points_of,
        refusal=_("Not enough points: %(available)s available."),
    )


@transaction.atomic
def debit_points(
    *, customer, points: int, kind: str, refund: Refund | None = None, note: str = "", actor=None
) -> PointsEntry:
    """Take `points` (> 0); refused if the customer's points would drop below zero."""
    return _write_entry(
        PointsEntry,
        "points",
        customer=customer,
        value=-_points(points),
        kind=kind,
        allowed=DEBIT_KINDS,
        refund=refund,
        note=note,
        actor=actor,
        available_of=points_of,
        refusal=_("Not enough points: %(available)s available."),
    )


# --- Coupons ------------------------------------------------------------------------------------------


def new_coupon_code() -> str:
    # The unique index is the guarantee; the look-up only spares an IntegrityError on a 1-in-2**59 clash.
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _position in range(CODE_LENGTH))
        if not Coupon.objects.filter(code=code).exists():
            return code


@transaction.atomic
def issue_coupon(
    *,
    customer,
    amount: Decimal,
    expires_at: datetime | None = None,
    refund: Refund | None = None,
    note: str = "",
    actor=None,
) -> Coupon:
    """A new coupon for the customer, valid until `expires_at` (default: LEDGER_COUPON_VALID_DAYS from
    now). With a refund, one coupon per refund: a repeated call returns the first one."""
    amount = _money(amount)
    now = timezone.now()
    expires_at = expires_at or now + timedelta(days=settings.LEDGER_COUPON_VALID_DAYS)
    if expires_at <= now:
        raise _refused("expires_at", _("A coupon must expire in the future."))
    _check_refund(refund, customer)
    customer = _lock_customer(customer)
    if refund is not None:
        existing = Coupon.objects.filter(refund=refund).first()
        if existing is not None:
            return existing
    return Coupon.objects.create(
        code=new_coupon_code(),
        customer=customer,
        amount=amount,
        currency=settings.SHOP_CURRENCY,
        issued_at=now,
        expires_at=expires_at,
        refund=refund,
        note=note,
        issued_by=actor,
    )


def normalize_code(code: str) -> str:
    """What customers type: any case, with spaces or dashes between the groups."""
    return "".join(code.split()).replace("-", "").upper()


@transaction.atomic
def use_coupon(*, code: str, customer) -> Coupon:
    """Redeem the customer's own valid coupon. Another customer's code is "no such coupon"; a used,
    cancelled or expired one is refused. The coupon's row lock makes two redemptions one at a time,
    so the second finds it used."""
    found = Coupon.objects.filter(code=normalize_code(code), customer=customer).values_list("pk", flat=True).first()
    if found is None:
        raise _refused("code", _("There is no such coupon."))
    coupon = lock_one(Coupon, found)
    now = timezone.now()
    refusals = {
        Coupon.State.USED: _("This coupon has already been used."),
        Coupon.State.CANCELLED: _("This coupon was cancelled."),
        Coupon.State.EXPIRED: _("This coupon has expired."),
    }
    state = coupon_state(coupon, now)
    if state in refusals:
        raise _refused("code", refusals[state])
    coupon.state = Coupon.State.USED
    coupon.used_at = now
    coupon.save(update_fields=["state", "used_at"])
    return coupon


@transaction.atomic
def cancel_coupon(*, coupon: Coupon, actor, note: str = "") -> Coupon:
    """Withdraw a coupon not used yet (expired ones included), e.g. a revoked price protection
    (R-PP-6). Cancelling a cancelled coupon returns it unchanged, so a retried revocation is harmless;
    a used coupon cannot be cancelled (its value has to be recovered another way)."""
    coupon = lock_one(Coupon, coupon.pk)
    if coupon.state == Coupon.State.CANCELLED:
        return coupon
    if coupon.state != Coupon.State.ISSUED:
        raise InvalidTransition(_("This coupon has already been used; it can no longer be cancelled."))
    coupon.state = Coupon.State.CANCELLED
    coupon.cancelled_at = timezone.now()
    coupon.cancelled_by = actor
    coupon.cancel_note = note
    coupon.save(update_fields=["state", "cancelled_at", "cancelled_by", "cancel_note"])
    return coupon
