"""Replacements and refunds another app grants outside the return windows: the warranty's irreparable
unit (R-WAR-5), repeated repairs of one fault (R-WAR-9) and a repair that takes too long (R-WAR-10).
The granting rule replaces the window checks of `returns.policy`; the quantity and refund caps of
R-RET-13 still hold. The request is approved at once: the shop has already decided."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.cases import services as case_services
from aftersales.cases.models import Case
from aftersales.common.errors import PolicyRefused
from aftersales.common.locks import lock_one
from aftersales.orders.models import Order, OrderLine

from .. import selectors
from ..models import ReturnLine, ReturnRequest
from ..policy import Kind, Payer, Reason
from .steps import approve
from .submit import _refund_estimate

# A unit still with the customer comes back (exchange, return); one already with the shop does not
# (reissue: the replacement ships; refund only: the money goes).
KINDS = frozenset({Kind.EXCHANGE, Kind.RETURN, Kind.REISSUE, Kind.REFUND_ONLY})


@transaction.atomic
def open_entitled(
    *, line: OrderLine, kind: str, rule: str, reference: str, note: str, now: datetime | None = None
) -> Case:
    """Open and approve a `kind` request for one unit of `line`, granted by `rule`; `reference` names
    what granted it (the warranty claim's number)."""
    if kind not in KINDS:
        raise ValueError(f"not a kind a warranty grants: {kind!r}")
    now = now or timezone.now()
    order = lock_one(Order, line.order_id)
    requested = selectors.requested_quantities(order)
    if line.quantity - requested.get(line.pk, 0) < 1:
        raise PolicyRefused(_("This item was already returned or replaced."), rule="R-RET-13")
    order_lines = {ol.pk: ol for ol in OrderLine.objects.filter(order=order).select_related("product", "gift_of")}
    wanted = {line.pk: 1}
    estimate = _refund_estimate(order=order, kind=kind, order_lines=order_lines, wanted=wanted, requested=requested)
    if kind in (Kind.RETURN, Kind.REFUND_ONLY) and estimate <= 0:
        raise PolicyRefused(_("Nothing is left to refund on this order."), rule="R-RET-13")
    customer = order.customer
    case = case_services.open_case(
        kind=kind,
        customer=customer,
        order=order,
        subject=_("%(kind)s granted by warranty claim %(claim)s, order %(order)s")
        % {"kind": Kind(kind).label, "claim": reference, "order": order.number},
        note=note,
        data={
            "reason": Reason.QUALITY,
            "lines": {str(line.pk): 1},
            "entitled_by": rule,
            "granted_by": reference,
        },
    )
    request = ReturnRequest.objects.create(
        case=case,
        reason=Reason.QUALITY,
        description=note,
        exchange_product=order_lines[line.pk].product if kind == Kind.EXCHANGE else None,
        return_shipping_paid_by=Payer.SHOP,
        refund_estimate=estimate,
        auto_approved=True,
    )
    ReturnLine.objects.create(request=request, order_line=line, quantity=1)
    return approve(
        case=case,
        actor=None,
        note=_("Granted by warranty claim %(claim)s (%(rule)s).") % {"claim": reference, "rule": rule},
        now=now,
    )
