"""Registering units and filing claims (R-WAR-1, R-WAR-2, R-WAR-4, R-WAR-6, R-WAR-7, R-WAR-9).

A claim whose remedy is a return or an exchange is handed to the returns app at once (its own rules
apply there); a repair, or an accessory instead of one (R-WAR-6), stays here as a warranty case with
its `Claim` row."""

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.cases import services as case_services
from aftersales.cases.attachments import add_attachments
from aftersales.cases.models import Case, CaseKind
from aftersales.common.errors import NotAllowed, PolicyRefused, ValidationFailed
from aftersales.common.locks import lock_one
from aftersales.orders.guarantees import Remedy
from aftersales.orders.models import OrderLine

from .. import policy, selectors
from ..models import Accessory, Claim, Unit
from ..policy import ACCESSORY, Document, Fault, ServiceMode

SERIAL_MAX = 64


def _serial(text: str) -> str:
    serial = "".join((text or "").split()).upper()
    if not serial:
        raise ValidationFailed(fields={"serial_number": [_("Enter the serial number.")]})
    if len(serial) > SERIAL_MAX or not serial.replace("-", "").isalnum():
        raise ValidationFailed(
            fields={"serial_number": [_("A serial number is letters and digits (and dashes), at most 64.")]}
        )
    return serial


@transaction.atomic
def register_unit(*, line: OrderLine, serial_number: str, source: str, customer=None) -> Unit:
    """R-WAR-1: record a unit's serial number on its line. Idempotent: the same serial on the same line
    is the same unit. The answer never depends on other customers' units (a serial is unique per line
    only), so registering cannot be used to probe which serials exist."""
    if customer is not None and line.order.customer_id != customer.pk:
        raise NotAllowed()
    serial = _serial(serial_number)
    lock_one(OrderLine, line.pk)
    existing = Unit.objects.filter(order_line=line, serial_number=serial).first()
    if existing is not None:
        return existing
    if Unit.objects.filter(order_line=line).count() >= line.quantity:
        raise ValidationFailed(
            fields={"serial_number": [_("Every unit of this item already has a serial number registered.")]}
        )
    try:
        with transaction.atomic():
            return Unit.objects.create(order_line=line, serial_number=serial, source=source)
    except IntegrityError:  # a racing registration of the same serial won
        return Unit.objects.get(order_line=line, serial_number=serial)


def record_replacement(*, line: OrderLine, unit: Unit | None, by: Case) -> int:
    """R-WAR-9: the unit's claims so far belong to the unit `by` (an exchange or a reissue the warranty
    granted) replaces: the new unit's repair count starts again. The days in repair still extend the
    warranty (R-WAR-8). Returns how many claims were marked."""
    return selectors.current_unit_claims(line, unit).update(replaced_by=by)


def _declared_documents(documents: dict | Iterable) -> dict[str, bool]:
    if isinstance(documents, dict):
        return {doc: bool(documents.get(doc)) for doc in Document.values}
    ticked = set(documents or ())
    return {doc: doc in ticked for doc in Document.values}


@transaction.atomic
def file_claim(
    *,
    customer,
    line: OrderLine,
    fault: str,
    description: str,
    remedy: str = Remedy.REPAIR,
    documents: dict | Iterable = (),
    mode: str = ServiceMode.SHIP_IN,
    unit: Unit | None = None,
    accessory: Accessory | None = None,
    photos: Iterable = (),
    now: datetime | None = None,
) -> Case:
    """File a warranty claim for one unit of `line`: checks R-WAR-1/2/4 (refusals carry the rule id),
    then hands a return or exchange to the returns app, or opens a repair case routed to a service
    centre (R-WAR-7). A repair whose documents are complete and that is sent in is accepted at once.
    The remedy `policy.ACCESSORY` asks for `accessory` (of the product's category) instead of a
    repair (R-WAR-6): see `accessories.open_accessory_claim`."""
    from returns import services as returns_services

    now = now or timezone.now()
    photos = list(photos)
    if line.order.customer_id != customer.pk:
        raise NotAllowed()
    if unit is not None and unit.order_line_id != line.pk:
        raise ValidationFailed(fields={"unit": [_("This unit is not part of this item.")]})
    errors = {}
    if fault not in Fault.values:
        errors["fault"] = [_("Choose what is wrong.")]
    description = (description or "").strip()
    if not description:
        errors["description"] = [_("Describe the fault.")]
    elif len(description) > 4000:
        errors["description"] = [_("At most 4000 characters.")]
    if remedy not in Remedy.values and remedy != ACCESSORY:
        errors["remedy"] = [_("Choose a remedy.")]
    elif remedy == ACCESSORY and accessory is None:
        errors["accessory"] = [_("Choose the accessory you need.")]
    elif remedy != ACCESSORY and accessory is not None:
        errors["accessory"] = [_("An accessory is asked for instead of a repair: choose that remedy.")]
    if mode not in ServiceMode.values and remedy != ACCESSORY:  # no unit is serviced for an accessory
        errors["mode"] = [_("Choose how the unit is serviced.")]
    if len(photos) > settings.ATTACHMENT_MAX_PER_CASE:
        errors["photos"] = [_("At most %(n)d photos.") % {"n": settings.ATTACHMENT_MAX_PER_CASE}]
    if errors:
        raise ValidationFailed(fields=errors)
    if line.gift_of_id is not None:
        raise PolicyRefused(_("A gift is covered through the item it came with."), rule="R-WAR-1")
    if remedy == ACCESSORY:
        from .accessories import open_accessory_claim

        return open_accessory_claim(
            customer=customer,
            line=line,
            unit=unit,
            accessory=accessory,
            fault=fault,
            description=description,
            declared=_declared_documents(documents),
            photos=photos,
            now=now,
        )

    verdict = selectors.claim_verdict(line, fault, unit, now=now)
    if verdict.refusal is not None:
        raise PolicyRefused(verdict.refusal.message, rule=verdict.refusal.rule)
    chosen = verdict.remedy(remedy)
    if chosen is None:
        raise PolicyRefused(
            _("%(remedy)s is not open for this item today.") % {"remedy": Remedy(remedy).label},
            rule="R-WAR-2",
            fields={"remedy": [_("Choose one of the remedies open today.")]},
        )
    declared = _declared_documents(documents)
    missing = policy.missing_documents(declared)
    refusal = policy.document_refusal(missing, selectors.knobs())
    if refusal is not None:
        raise PolicyRefused(refusal.message, rule=refusal.rule, fields={"documents": [refusal.message]})

    if remedy != Remedy.REPAIR:
        kind = CaseKind.RETURN if remedy == Remedy.RETURN else CaseKind.EXCHANGE
        if chosen.rule == "R-WAR-9":  # outside the return windows: granted, not judged by them
            earlier = selectors.repairs_of_fault(line, fault, unit)
            granted = returns_services.open_entitled(
                line=line,
                kind=kind,
                rule="R-WAR-9",
                reference=_("%(n)d earlier repairs of this fault") % {"n": earlier},
                note=description,
                now=now,
            )
            add_attachments(case=granted, uploaded_by=customer, uploads=photos)
            if kind == CaseKind.EXCHANGE:
                record_replacement(line=line, unit=unit, by=granted)
            return granted
        return returns_services.submit_request(
            customer=customer,
            order=line.order,
            kind=kind,
            reason="quality",
            lines=[{"line": line, "quantity": 1}],
            condition={},
            description=description,
            exchange_product=line.product if kind == CaseKind.EXCHANGE else None,
            photos=photos,
            now=now,
        )

    centre_id = policy.route(
        selectors.centre_facts(), brand_id=line.product.brand_id, region=customer.region, mode=mode
    )
    if mode == ServiceMode.ON_SITE and centre_id is None:
        raise PolicyRefused(
            _("No service centre visits your region for this brand; please send the unit in instead."),
            rule="R-WAR-7",
            fields={"mode": [_("Choose to send the unit in.")]},
        )
    case = case_services.open_case(
        kind=CaseKind.WARRANTY,
        customer=customer,
        order=line.order,
        subject=_("Repair: %(product)s (%(fault)s), order %(order)s")
        % {"product": line.product_name, "fault": Fault(fault).label, "order": line.order.number},
        actor=customer,
        note=description,
        data={"fault": fault, "line": line.pk, "missing_documents": missing},
    )
    Claim.objects.create(
        case=case,
        order_line=line,
        unit=unit,
        fault=fault,
        description=description,
        documents=declared,
        missing_documents=missing,
        mode=mode,
        centre_id=centre_id,
        coverage_ends_at=verdict.coverage.ends_at,
    )
    add_attachments(case=case, uploaded_by=customer, uploads=photos)
    if not missing and mode == ServiceMode.SHIP_IN:
        from .steps import accept

        case = accept(case=case, actor=None, note=_("Accepted automatically."), now=now)
    return case
