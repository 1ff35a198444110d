"""Every step of a warranty repair after filing (R-WAR-3, R-WAR-5, R-WAR-8, R-WAR-10). Status changes go
through `aftersales.cases.services.transition` (permission, compare-and-set, event, notification);
the claim's milestones are written in the same transaction. Keyword arguments only."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from aftersales.accounts.roles import SUPERVISOR
from aftersales.cases import services as case_services
from aftersales.cases import workflow as case_workflow
from aftersales.cases.attachments import add_attachments, share_attachments
from aftersales.cases.models import Case, CaseKind
from aftersales.cases.notifications import notify
from aftersales.common.errors import InvalidTransition, NotAllowed, PolicyRefused, ValidationFailed
from aftersales.common.locks import lock_one
from aftersales.common.shipping import shipment
from aftersales.orders.guarantees import window_end

from .. import policy
from ..models import Claim, PartUsed, WarrantySettings
from ..policy import Diagnosis, Exclusion, ServiceMode
from ..workflow import CONFIRM_RECEIPT, EXPIRE_UNSENT, IN_WORKSHOP, LONG_REPAIR, QUOTE_LAPSED

TEXT_MAX = 4000


def _claim(case: Case) -> Claim:
    return Claim.objects.select_related("order_line__product", "order_line__order", "centre").get(case_id=case.pk)


def _may(*, case: Case, name: str, actor) -> None:
    """Permission first, then status, so a caller without the right learns nothing from validation."""
    t = case_workflow.get(case.kind).transitions.get(name)
    if t is None:
        raise InvalidTransition()
    case_services.check_allowed(case=case, transition=t, actor=actor)
    if case.status not in t.sources:
        raise InvalidTransition()


def _text(value: str, field: str, required_message: str = "") -> str:
    value = (value or "").strip()
    if required_message and not value:
        raise ValidationFailed(fields={field: [required_message]})
    if len(value) > TEXT_MAX:
        raise ValidationFailed(fields={field: [_("At most 4000 characters.")]})
    return value


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _long_repair_deadline(claim: Claim) -> tuple[datetime | None, str]:
    """R-WAR-10: while a covered unit is in the workshop, the free-replacement offer is its deadline."""
    if claim.received_at is None or claim.replacement_offered_at is not None or claim.quote_accepted_at:
        return None, ""
    return policy.long_repair_at(claim.received_at, WarrantySettings.current().knobs()), LONG_REPAIR


# --- Acceptance and the unit's way in ----------------------------------------------------------------


def _check_mode(claim: Claim, step: str) -> None:
    """R-WAR-5: a claim is accepted the way the customer asked to be served: a unit sent in is awaited
    (`accept`), an on-site visit is booked (`book_visit`). The other step is refused, not a silent
    switch of the customer's choice; an agent who cannot serve it that way rejects it with a reason."""
    if step == "accept" and claim.mode == ServiceMode.ON_SITE:
        raise InvalidTransition(_("The customer asked for a technician's visit: book the visit instead."))
    if step == "book_visit" and claim.mode != ServiceMode.ON_SITE:
        raise InvalidTransition(_("The customer sends this unit in: accept the claim instead of booking a visit."))


@transaction.atomic
def accept(*, case: Case, actor, note: str = "", now: datetime | None = None) -> Case:
    """R-WAR-5: the customer sends the unit in within `ship_in_days` (the claim expires after that),
    to the routed centre's address or the shop's. Only for a claim sent in: an on-site claim is
    accepted by booking the visit."""
    now = now or timezone.now()
    _may(case=case, name="accept", actor=actor)
    claim = _claim(case)
    _check_mode(claim, "accept")
    ship_by = window_end(now, WarrantySettings.current().ship_in_days)
    where = claim.centre.address if claim.centre else _("the shop's return address on your case page")
    instructions = _("Please send the unit, with the items listed in your claim, to %(where)s by %(until)s.") % {
        "where": where,
        "until": _when(ship_by),
    }
    return case_services.transition(
        case=case,
        name="accept",
        actor=actor,
        note=f"{note}\n{instructions}" if note else instructions,
        deadline_at=ship_by,
        deadline_action=EXPIRE_UNSENT,
    )


@transaction.atomic
def book_visit(*, case: Case, actor, visit_at: datetime, note: str = "", now: datetime | None = None) -> Case:
    """R-WAR-5: an on-site claim is accepted with the technician's visit booked (a claim sent in is
    accepted with `accept`)."""
    now = now or timezone.now()
    _may(case=case, name="book_visit", actor=actor)
    claim = _claim(case)
    _check_mode(claim, "book_visit")
    if visit_at is None or visit_at <= now:
        raise ValidationFailed(fields={"visit_at": [_("Choose a time in the future.")]})
    claim.visit_at = visit_at
    claim.save(update_fields=["visit_at"])
    message = _("A technician will visit you at %(when)s.") % {"when": _when(visit_at)}
    return case_services.transition(
        case=case, name="book_visit", actor=actor, note=f"{note}\n{message}" if note else message
    )


@transaction.atomic
def reject(*, case: Case, actor, reason_text: str) -> Case:
    """A claim the shop cannot accept (e.g. a missing document turned out to matter), with a reason."""
    _may(case=case, name="reject", actor=actor)
    reason_text = _text(reason_text, "reason", _("Tell the customer why the claim is rejected."))
    return case_services.transition(case=case, name="reject", actor=actor, note=reason_text)


@transaction.atomic
def cancel(*, case: Case, customer) -> Case:
    return case_services.transition(case=case, name="cancel", actor=customer, note=_("Cancelled by the customer."))


@transaction.atomic
def enter_tracking(*, case: Case, customer, carrier: str, tracking_number: str) -> Case:
    """The customer sent the unit: it no longer expires; entering it again corrects the entry."""
    if customer is None or customer.pk != case.customer_id:
        raise NotAllowed()
    locked = lock_one(Case, case.pk)
    if locked.status != "awaiting_unit":
        raise InvalidTransition()
    carrier, tracking_number = shipment(carrier, tracking_number)
    Claim.objects.filter(case_id=case.pk).update(carrier=carrier, tracking_number=tracking_number)
    case_services.set_deadline(case=locked, deadline_at=None)
    case_services.add_note(
        case=locked,
        actor=customer,
        note=_("Unit sent with %(carrier)s, tracking number %(number)s.")
        % {"carrier": carrier, "number": tracking_number},
        public=True,
    )
    return locked


@transaction.atomic
def receive(*, case: Case, actor, now: datetime | None = None) -> Case:
    """The unit arrived: the repair clock starts (turnaround, R-WAR-8 days, R-WAR-10 offer)."""
    now = now or timezone.now()
    _may(case=case, name="receive", actor=actor)
    claim = _claim(case)
    claim.received_at = now
    claim.save(update_fields=["received_at"])
    deadline_at, action = _long_repair_deadline(claim)
    return case_services.transition(
        case=case,
        name="receive",
        actor=actor,
        note=_("Your unit arrived; a technician will diagnose it."),
        deadline_at=deadline_at,
        deadline_action=action,
    )


# --- Diagnosis ---------------------------------------------------------------------------------------


@transaction.atomic
def start_diagnosis(*, case: Case, actor, now: datetime | None = None) -> Case:
    """A technician starts; an on-site visit counts as the unit's arrival."""
    now = now or timezone.now()
    _may(case=case, name="start_diagnosis", actor=actor)
    claim = _claim(case)
    if claim.received_at is None:
        claim.received_at = now
        claim.save(update_fields=["received_at"])
    deadline_at, action = _long_repair_deadline(claim)
    return case_services.transition(
        case=case, name="start_diagnosis", actor=actor, deadline_at=deadline_at, deadline_action=action
    )


MONEY_MAX = Decimal("9999999999.99")  # the columns' 12 digits


def _money(value, field: str, *, allow_zero: bool = False) -> Decimal | None:
    """A typed amount in cents, above zero (or zero when allowed) and within the columns; None if blank."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        amount = None
    valid = (
        amount is not None
        and amount.is_finite()
        and (amount >= 0 if allow_zero else amount > 0)
        and amount <= MONEY_MAX
        and amount.as_tuple().exponent >= -2
    )
    if not valid:
        raise ValidationFailed(fields={field: [_("Enter an amount above zero, e.g. 180.00.")]})
    return amount.quantize(Decimal("0.01"))


@transaction.atomic
def diagnose(
    *,
    case: Case,
    actor,
    outcome: str,
    notes: str,
    exclusion: str = "",
    explanation: str = "",
    quote=None,
    photos=(),
    now: datetime | None = None,
) -> Case:
    """R-WAR-3 / R-WAR-5. Covered → free repair. Excluded → a typed reason, evidence photos and an
    explanation the customer reads, with an optional paid quote to accept or decline within the
    configured days. Irreparable → a replacement, or a refund where the product is no longer sold."""
    now = now or timezone.now()
    name = {
        Diagnosis.COVERED: "diagnose_covered",
        Diagnosis.EXCLUDED: "diagnose_excluded",
        Diagnosis.IRREPARABLE: "diagnose_irreparable",
    }.get(outcome)
    if name is None:
        _may(case=case, name="diagnose_covered", actor=actor)
        raise ValidationFailed(fields={"outcome": [_("Choose the diagnosis.")]})
    _may(case=case, name=name, actor=actor)
    notes = _text(notes, "notes", _("Write down what you found."))
    claim = _claim(case)
    claim.diagnosis, claim.diagnosis_notes, claim.diagnosed_at = outcome, notes, now
    if outcome == Diagnosis.EXCLUDED:
        errors = {}
        if exclusion not in Exclusion.values:
            errors["exclusion"] = [_("Choose the exclusion that applies.")]
        explanation = (explanation or "").strip()
        if not explanation:
            errors["explanation"] = [_("Explain the exclusion to the customer.")]
        photos = list(photos)
        if not photos:
            errors["photos"] = [_("Add at least one photo as evidence.")]
        if errors:
            raise ValidationFailed(fields=errors)
        claim.exclusion, claim.exclusion_explanation = exclusion, _text(explanation, "explanation")
        claim.quote_amount = _money(quote, "quote")
        claim.save()
        add_attachments(case=case, uploaded_by=actor, uploads=photos)
        return _excluded(case=case, claim=claim, actor=actor, name=name, now=now)
    claim.save()
    if outcome == Diagnosis.COVERED:
        deadline_at, action = _long_repair_deadline(claim)
        return case_services.transition(
            case=case,
            name=name,
            actor=actor,
            note=_("Diagnosis: covered by the warranty; we are repairing it for free.") + f"\n{notes}",
            deadline_at=deadline_at,
            deadline_action=action,
        )
    return _hand_over(case=case, claim=claim, actor=actor, name=name, rule="R-WAR-5", notes=notes, now=now)


def _excluded(*, case: Case, claim: Claim, actor, name: str, now: datetime) -> Case:
    days = WarrantySettings.current().quote_response_days
    until = window_end(now, days)
    lines = [
        _("Not covered by the warranty: %(reason)s.") % {"reason": Exclusion(claim.exclusion).label},
        claim.exclusion_explanation,
    ]
    if claim.quote_amount:
        lines.append(
            _(
                "We can repair it for %(amount)s. Accept or decline by %(until)s; otherwise the unit comes back "
                "unrepaired."
            )
            % {"amount": claim.quote_amount, "until": _when(until)}
        )
    else:
        lines.append(_("The unit comes back unrepaired unless you appeal by %(until)s.") % {"until": _when(until)})
    if claim.appealed_at is None:
        lines.append(_("If you disagree, you may appeal once; a supervisor will review the decision."))
    return case_services.transition(
        case=case,
        name=name,
        actor=actor,
        note="\n".join(lines),
        data={"exclusion": claim.exclusion, "quote": str(claim.quote_amount or "")},
        deadline_at=until,
        deadline_action=QUOTE_LAPSED,
    )


def _hand_over(*, case: Case, claim: Claim, actor, name: str, rule: str, notes: str, now: datetime) -> Case:
    """A replacement (a reissue: the unit is already with us) or, where the product is no longer sold,
    a refund, through the returns app; this claim then ends, linked to that case, which carries its
    photos and evidence on (the same stored files). A replaced unit's repair count ends with it
    (R-WAR-9: the new unit starts its own)."""
    from returns import services as returns_services

    product = claim.order_line.product
    kind = CaseKind.REISSUE if product.active else CaseKind.REFUND_ONLY
    granted = returns_services.open_entitled(
        line=claim.order_line, kind=kind, rule=rule, reference=case.number, note=notes, now=now
    )
    share_attachments(source=case, target=granted, actor=actor)
    if kind == CaseKind.REISSUE:
        from .claims import record_replacement

        record_replacement(line=claim.order_line, unit=claim.unit, by=granted)
    claim.handed_over_to = granted
    claim.save(update_fields=["handed_over_to"])
    message = (
        _("We will send you a replacement instead: see case %(number)s.")
        if kind == CaseKind.REISSUE
        else _("The product is no longer sold, so we refund it instead: see case %(number)s.")
    ) % {"number": granted.number}
    return case_services.transition(
        case=case, name=name, actor=actor, note=f"{notes}\n{message}", data={"handed_over_to": granted.number}
    )


# --- The customer's answer to an exclusion, and the appeal ---------------------------------------------


@transaction.atomic
def accept_quote(*, case: Case, customer, now: datetime | None = None) -> Case:
    """The customer accepts the paid repair; the amount is owed before the unit ships back."""
    now = now or timezone.now()
    _may(case=case, name="accept_quote", actor=customer)
    claim = _claim(case)
    if not claim.quote_amount:
        raise PolicyRefused(_("No paid repair was offered for this claim."), rule="R-WAR-3")
    claim.quote_accepted_at, claim.amount_due = now, claim.quote_amount
    claim.save(update_fields=["quote_accepted_at", "amount_due"])
    return case_services.transition(
        case=case,
        name="accept_quote",
        actor=customer,
        note=_("Paid repair accepted: %(amount)s, to be paid before the unit ships back.")
        % {"amount": claim.quote_amount},
    )


@transaction.atomic
def decline_quote(*, case: Case, customer) -> Case:
    _may(case=case, name="decline_quote", actor=customer)
    return case_services.transition(
        case=case, name="decline_quote", actor=customer, note=_("Declined: the unit comes back unrepaired.")
    )


@transaction.atomic
def appeal(*, case: Case, customer, text: str) -> Case:
    """R-WAR-3: once per claim, the customer contests an exclusion; every supervisor is told."""
    _may(case=case, name="appeal", actor=customer)
    text = _text(text, "text", _("Tell us why you disagree."))
    claim = _claim(case)
    if claim.appealed_at is not None:
        raise PolicyRefused(_("This decision was already appealed once."), rule="R-WAR-3")
    claim.appealed_at, claim.appeal_text = timezone.now(), text
    claim.save(update_fields=["appealed_at", "appeal_text"])
    case = case_services.transition(case=case, name="appeal", actor=customer, note=text)
    for supervisor in get_user_model().objects.filter(groups__name=SUPERVISOR, is_active=True).distinct():
        notify(
            user=supervisor,
            case=case,
            title=lambda: gettext("Appeal against a warranty exclusion: %(number)s") % {"number": case.number},
            body=lambda: text,
        )
    return case


@transaction.atomic
def decide_appeal(*, case: Case, actor, overturn: bool, note: str, now: datetime | None = None) -> Case:
    """A supervisor overturns the exclusion (free repair) or upholds it (the quote stands, with a new
    deadline; there is no second appeal)."""
    now = now or timezone.now()
    name = "overturn" if overturn else "uphold"
    _may(case=case, name=name, actor=actor)
    note = _text(note, "note", _("Explain the decision to the customer."))
    claim = _claim(case)
    if overturn:
        claim.diagnosis = Diagnosis.COVERED
        claim.save(update_fields=["diagnosis"])
        deadline_at, action = _long_repair_deadline(claim)
        return case_services.transition(
            case=case,
            name=name,
            actor=actor,
            note=_("Appeal granted: we repair it for free.") + f"\n{note}",
            deadline_at=deadline_at,
            deadline_action=action,
        )
    case_services.add_note(case=case, actor=actor, note=_("Appeal refused.") + f"\n{note}", public=True)
    return _excluded(case=case, claim=claim, actor=actor, name=name, now=now)


# --- Repair, check, return -----------------------------------------------------------------------------


@transaction.atomic
def add_part(*, case: Case, actor, name: str, quantity: int = 1, unit_price=None) -> PartUsed:
    """A part the repair used: free under the warranty, at its price on a paid repair. As of the case
    version the caller read (`case.version`): a form posted twice, or after the case changed, is a
    TransitionConflict rather than a second part; the version moves on (and `case.version` with it)."""
    _may(case=case, name="repaired", actor=actor)
    name = _text(name, "name", _("Name the part."))[:120]
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 999:
        raise ValidationFailed(fields={"quantity": [_("Enter a quantity from 1 to 999.")]})
    claim = _claim(case)
    covered = claim.diagnosis == Diagnosis.COVERED
    price = Decimal("0.00") if covered else (_money(unit_price, "unit_price", allow_zero=True) or Decimal("0.00"))
    locked = case_services.lock_at_version(case=case)
    part = PartUsed.objects.create(claim=claim, name=name, quantity=quantity, unit_price=price, added_by=actor)
    case_services.bump_version(case=case, locked=locked)
    return part


@transaction.atomic
def repaired(*, case: Case, actor, notes: str = "", now: datetime | None = None) -> Case:
    now = now or timezone.now()
    _may(case=case, name="repaired", actor=actor)
    claim = _claim(case)
    claim.repaired_at = now
    claim.save(update_fields=["repaired_at"])
    deadline_at, action = _long_repair_deadline(claim)
    return case_services.transition(
        case=case,
        name="repaired",
        actor=actor,
        note=_text(notes, "notes") or _("Repaired; a quality check follows."),
        deadline_at=deadline_at,
        deadline_action=action,
    )


@transaction.atomic
def fail_quality_check(*, case: Case, actor, notes: str) -> Case:
    _may(case=case, name="fail_quality_check", actor=actor)
    notes = _text(notes, "notes", _("Write down what failed."))
    claim = _claim(case)
    deadline_at, action = _long_repair_deadline(claim)
    return case_services.transition(
        case=case,
        name="fail_quality_check",
        actor=actor,
        note=notes,
        public=False,
        deadline_at=deadline_at,
        deadline_action=action,
    )


@transaction.atomic
def ship_back(*, case: Case, actor, carrier: str, tracking_number: str, now: datetime | None = None) -> Case:
    """Quality checked and shipped back; a paid repair only once paid. The days in a covered repair
    extend the warranty (R-WAR-8); the claim closes when the customer confirms, or after N days."""
    now = now or timezone.now()
    _may(case=case, name="ship_back", actor=actor)
    claim = _claim(case)
    if claim.amount_due > 0 and claim.amount_due_paid_at is None:
        raise PolicyRefused(
            _("The customer has not paid for the repair (%(amount)s) yet.") % {"amount": claim.amount_due},
            rule="R-WAR-3",
        )
    carrier, tracking_number = shipment(carrier, tracking_number)
    claim.qc_passed_at = claim.shipped_back_at = now
    claim.outbound_carrier, claim.outbound_tracking_number = carrier, tracking_number
    covered = claim.diagnosis == Diagnosis.COVERED
    claim.repair_days = policy.days_in_repair(claim.received_at or now, now) if covered else 0
    claim.save()
    message = _("Repaired and shipped back with %(carrier)s, tracking number %(number)s.") % {
        "carrier": carrier,
        "number": tracking_number,
    }
    if covered and claim.repair_days and WarrantySettings.current().extend_by_repair_days:
        message += "\n" + _("Your warranty is extended by the %(days)d days the unit spent in repair.") % {
            "days": claim.repair_days
        }
    return case_services.transition(
        case=case,
        name="ship_back",
        actor=actor,
        note=message,
        data={"repair_days": claim.repair_days},
        deadline_at=window_end(now, WarrantySettings.current().receipt_confirm_days),
        deadline_action=CONFIRM_RECEIPT,
    )


@transaction.atomic
def ship_back_unrepaired(*, case: Case, actor, carrier: str, tracking_number: str, now: datetime | None = None):
    """R-WAR-3: a declined or lapsed quote: the unit goes back as it came."""
    now = now or timezone.now()
    _may(case=case, name="ship_back_unrepaired", actor=actor)
    carrier, tracking_number = shipment(carrier, tracking_number)
    Claim.objects.filter(case_id=case.pk).update(
        outbound_carrier=carrier, outbound_tracking_number=tracking_number, shipped_back_at=now
    )
    return case_services.transition(
        case=case,
        name="ship_back_unrepaired",
        actor=actor,
        note=_("Your unit was sent back unrepaired with %(carrier)s, tracking number %(number)s.")
        % {"carrier": carrier, "number": tracking_number},
    )


@transaction.atomic
def record_payment(*, case: Case, actor, reference: str = "", now: datetime | None = None) -> Case:
    """The customer paid for an accepted paid repair or a priced accessory (R-WAR-6), taken by the
    storefront or by hand. A paid accessory is then prepared for shipping. As of the case version the
    caller read (`case.version`): a form posted twice, or after the case changed, is a
    TransitionConflict; the version moves on (and `case.version` with it)."""
    now = now or timezone.now()
    if actor is None or not actor.has_perm("cases.change_case"):
        raise NotAllowed()
    locked = case_services.lock_at_version(case=case)
    claim = _claim(locked)
    if claim.amount_due <= 0 or locked.closed_at is not None:
        raise InvalidTransition(_("Nothing is due on this claim."))
    if claim.amount_due_paid_at is not None:
        return locked
    claim.amount_due_paid_at = now
    claim.save(update_fields=["amount_due_paid_at"])
    reference = (reference or "").strip()[:200]
    if claim.accessory_id is not None:
        note = _("Payment for %(accessory)s (%(amount)s) received; we will send it to you.") % {
            "accessory": claim.accessory.name,
            "amount": claim.amount_due,
        }
        note += f" {reference}" if reference else ""
        if locked.status == "accessory_payment":
            locked = case_services.transition(case=locked, name="accessory_paid", actor=actor, note=note)
            case.version = locked.version
            return locked
    else:
        note = _("Payment for the repair (%(amount)s) received.") % {"amount": claim.amount_due}
        note += f" {reference}" if reference else ""
    case_services.add_note(case=locked, actor=actor, note=note, public=True)
    return case_services.bump_version(case=case, locked=locked)


@transaction.atomic
def confirm_receipt(*, case: Case, actor) -> Case:
    """The customer has the unit, or the accessory (R-WAR-6), back (actor None: the confirmation days
    passed)."""
    if actor is None:
        accessory = Claim.objects.filter(case_id=case.pk, accessory__isnull=False).exists()
        note = _("Closed: the accessory was delivered.") if accessory else _("Closed: the unit was delivered.")
        return case_services.transition(case=case, name="close", note=note)
    return case_services.transition(
        case=case, name="confirm_receipt", actor=actor, note=_("The customer confirmed receipt.")
    )


# --- R-WAR-10: a repair that takes too long ------------------------------------------------------------


@transaction.atomic
def offer_replacement(*, case: Case, now: datetime | None = None) -> Case:
    """R-WAR-10: the repair passed the configured days: the customer may take a free replacement.
    Idempotent (offered once); called by the deadline sweeper."""
    now = now or timezone.now()
    locked = lock_one(Case, case.pk)
    claim = _claim(locked)
    if locked.status not in IN_WORKSHOP:
        return locked
    if claim.replacement_offered_at is not None or claim.quote_accepted_at is not None:
        return locked
    claim.replacement_offered_at = now
    claim.save(update_fields=["replacement_offered_at"])
    days = WarrantySettings.current().long_repair_days
    case_services.add_note(
        case=locked,
        actor=None,
        note=_(
            "Your repair has taken more than %(days)d days. You may take a free replacement instead: "
            "use the button on your claim page (R-WAR-10)."
        )
        % {"days": days},
        public=True,
    )
    notify(
        user=locked.customer,
        case=locked,
        title=lambda: gettext("Your repair %(number)s: a free replacement is offered") % {"number": locked.number},
        body=lambda: gettext("The repair has taken more than %(days)d days (R-WAR-10).") % {"days": days},
    )
    return locked


@transaction.atomic
def take_replacement(*, case: Case, customer, now: datetime | None = None) -> Case:
    """R-WAR-10: the customer takes the offered replacement; the repair ends, handed over."""
    now = now or timezone.now()
    _may(case=case, name="take_replacement", actor=customer)
    claim = _claim(case)
    if claim.replacement_offered_at is None:
        raise PolicyRefused(_("No replacement has been offered for this repair."), rule="R-WAR-10")
    return _hand_over(
        case=case,
        claim=claim,
        actor=customer,
        name="take_replacement",
        rule="R-WAR-10",
        notes=_("The customer took the free replacement offered for a long repair."),
        now=now,
    )
