"""Writes on refunds. `request_refund` is the one door every app uses to ask for money back."""

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from aftersales.common.errors import PolicyRefused, ValidationFailed
from aftersales.common.locks import lock_one
from aftersales.orders.models import Order

from .models import Refund


def refunded_or_pending(order: Order) -> Decimal:
    """What the order's refunds take, counting every refund not rejected."""
    total = order.refunds.exclude(state=Refund.State.REJECTED).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0.00")


@transaction.atomic
def request_refund(
    *, order: Order, source: str, amount: Decimal, idempotency_key: str, case=None, requested_by=None
) -> Refund:
    """Queue a refund for finance. Idempotent by key; the order row is locked so that the sum of its
    refunds never exceeds what it paid (R-RET-13), however many requests race."""
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    if amount <= 0:
        raise ValidationFailed(fields={"amount": [_("A refund must be more than zero.")]})
    order = lock_one(Order, order.pk)
    if refunded_or_pending(order) + amount > order.paid_total:
        raise PolicyRefused(_("Refunds on an order can never exceed what was paid for it."), rule="R-RET-13")
    return Refund.objects.create(
        order=order,
        case=case,
        source=source,
        amount=amount,
        idempotency_key=idempotency_key,
        requested_by=requested_by,
    )
