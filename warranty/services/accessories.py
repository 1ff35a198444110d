"""R-WAR-6: an accessory or spare part instead of a repair (配件更换). No unit travels.

The part is priced when the claim is filed (`policy.accessory_price`: free for a wearing part while the
unit is covered, else its price) and the price is kept on the claim. A free part is prepared at once; a
priced one is owed (`amount_due`) and paid within the days the shop gives for a paid quote, or the claim
is cancelled; `steps.record_payment` then releases it. Staff ship it with its carrier and tracking
number, and the claim closes when the customer confirms receipt or the confirmation days pass, as a
repaired unit's return does."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.cases import services as case_services
from aftersales.cases.attachments import add_attachments
from aftersales.cases.models import Case, CaseKind
from aftersales.common.errors import PolicyRefused, ValidationFailed
from aftersales.common.shipping import shipment
from aftersales.orders.guarantees import window_end
from aftersales.orders.models import OrderLine

from .. import policy, selectors
from ..models import Accessory, Claim, Unit, WarrantySettings
from ..workflow import ACCESSORY_UNPAID, CONFIRM_RECEIPT
from .steps import _claim, _may, _when


@transaction.atomic
def open_accessory_claim(
    *,
    customer,
    line: OrderLine,
    unit: Unit | None,
    accessory: Accessory,
    fault: str,
    description: str,
    declared: dict[str, bool],
    photos: list,
    now: datetime,
) -> Case:
    """The warranty case of an accessory request, already checked by `claims.file_claim` (owner, fault,
    description, not a gift). The accessory must be one the shop sells for the product's category.
    A free part is a warranty claim, so the documents the shop requires (R-WAR-4) still apply; a part
    the customer buys needs none, and nothing else is asked for since no unit is sent."""
    cover = selectors.line_coverage(line, unit)
    if cover is None:
        raise PolicyRefused(
            _("The warranty starts when you sign for the goods; they are not signed for yet."), rule="R-WAR-1"
        )
    if accessory.category_id != line.product.category_id or not accessory.active:
        raise ValidationFailed(fields={"accessory": [_("Choose one of the accessories sold for this product.")]})
    facts = {"price": accessory.price, "wearing_part": accessory.wearing_part, "covered": cover.covers(now)}
    price = policy.accessory_price(**facts)
    if price == 0:
        refusal = policy.document_refusal(policy.missing_documents(declared), selectors.knobs())
        if refusal is not None:
            raise PolicyRefused(refusal.message, rule=refusal.rule, fields={"documents": [refusal.message]})
    case = case_services.open_case(
        kind=CaseKind.WARRANTY,
        customer=customer,
        order=line.order,
        subject=_("Accessory: %(accessory)s for %(product)s, order %(order)s")
        % {"accessory": accessory.name, "product": line.product_name, "order": line.order.number},
        actor=customer,
        note=description,
        data={"fault": fault, "line": line.pk, "accessory": accessory.pk, "accessory_price": str(price)},
    )
    Claim.objects.create(
        case=case,
        order_line=line,
        unit=unit,
        fault=fault,
        description=description,
        documents=declared,
        accessory=accessory,
        accessory_price=price,
        amount_due=price,
        coverage_ends_at=cover.ends_at,
    )
    add_attachments(case=case, uploaded_by=customer, uploads=photos)
    reason = policy.accessory_price_reason(**facts)
    if price == 0:
        return case_services.transition(
            case=case,
            name="accessory_free",
            note=_("%(accessory)s is free: %(reason)s We will send it to you.")
            % {"accessory": accessory.name, "reason": reason},
            data={"accessory_price": str(price)},
        )
    until = window_end(now, WarrantySettings.current().quote_response_days)
    return case_services.transition(
        case=case,
        name="accessory_priced",
        note=_(
            "%(accessory)s costs %(amount)s: %(reason)s Please pay by %(until)s; we send it once it is paid. "
            "Until then you may cancel."
        )
        % {"accessory": accessory.name, "amount": price, "reason": reason, "until": _when(until)},
        data={"accessory_price": str(price)},
        deadline_at=until,
        deadline_action=ACCESSORY_UNPAID,
    )


@transaction.atomic
def ship_accessory(*, case: Case, actor, carrier: str, tracking_number: str, now: datetime | None = None) -> Case:
    """Staff send the accessory (a priced one only once paid); the claim closes when the customer
    confirms receipt, or after the confirmation days."""
    now = now or timezone.now()
    _may(case=case, name="ship_accessory", actor=actor)
    claim = _claim(case)
    if claim.amount_due > 0 and claim.amount_due_paid_at is None:
        raise PolicyRefused(
            _("The customer has not paid for the accessory (%(amount)s) yet.") % {"amount": claim.amount_due},
            rule="R-WAR-6",
        )
    carrier, tracking_number = shipment(carrier, tracking_number)
    claim.outbound_carrier, claim.outbound_tracking_number, claim.shipped_back_at = carrier, tracking_number, now
    claim.save(update_fields=["outbound_carrier", "outbound_tracking_number", "shipped_back_at"])
    return case_services.transition(
        case=case,
        name="ship_accessory",
        actor=actor,
        note=_("%(accessory)s was sent to you with %(carrier)s, tracking number %(number)s.")
        % {"accessory": claim.accessory.name, "carrier": carrier, "number": tracking_number},
        deadline_at=window_end(now, WarrantySettings.current().receipt_confirm_days),
        deadline_action=CONFIRM_RECEIPT,
    )
