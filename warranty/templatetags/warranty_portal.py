"""What a warranty case's portal page shows of its claim (`templates/warranty/_case_actions.html`,
included by the core case page, which knows nothing of warranty): the claim's facts and which of the
customer's own forms are open now. The services still judge each step when it is posted."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django import template
from django.conf import settings

from ..models import Claim, PartUsed, WarrantySettings
from ..policy import Diagnosis, Document
from ..workflow import ACCESSORY_UNPAID, EXPIRE_UNSENT, IN_WORKSHOP, QUOTE_LAPSED, SENT_TO_CUSTOMER

register = template.Library()


@dataclass
class ClaimPanel:
    claim: Claim
    parts: list[PartUsed]
    parts_total: Decimal
    missing: list[str]
    ship_to: str = ""
    ship_by: datetime | None = None
    answer_by: datetime | None = None
    pay_by: datetime | None = None
    extends_warranty: bool = False
    steps: frozenset[str] = field(default_factory=frozenset)


def customer_steps(case, claim: Claim) -> frozenset[str]:
    """The customer's steps open in the claim's status (with what each service also needs: a quote
    to accept, no earlier appeal, an offered replacement)."""
    status = case.status
    open_ = {
        "tracking": status == "awaiting_unit",
        "accept_quote": status == "excluded" and bool(claim.quote_amount),
        "decline_quote": status == "excluded",
        "appeal": status == "excluded" and claim.appealed_at is None,
        "take_replacement": status in IN_WORKSHOP and claim.replacement_offered_at is not None,
        "confirm_receipt": status in SENT_TO_CUSTOMER,
    }
    return frozenset(name for name, is_open in open_.items() if is_open)


@register.simple_tag
def claim_panel(case, user) -> ClaimPanel | None:
    claim = (
        Claim.objects.select_related("order_line", "unit", "centre", "handed_over_to", "accessory")
        .filter(case_id=case.pk)
        .first()
    )
    if claim is None:
        return None
    parts = list(claim.parts.all())
    panel = ClaimPanel(
        claim=claim,
        parts=parts,
        parts_total=sum((p.quantity * p.unit_price for p in parts), Decimal("0.00")),
        missing=[str(label) for value, label in Document.choices if value in (claim.missing_documents or [])],
        extends_warranty=(
            claim.diagnosis == Diagnosis.COVERED
            and claim.repair_days > 0
            and WarrantySettings.current().extend_by_repair_days
        ),
    )
    if case.status == "awaiting_unit":
        panel.ship_to = claim.centre.address if claim.centre else settings.SHOP_RETURN_ADDRESS
    if case.deadline_action == EXPIRE_UNSENT:
        panel.ship_by = case.deadline_at
    elif case.deadline_action == QUOTE_LAPSED:
        panel.answer_by = case.deadline_at
    elif case.deadline_action == ACCESSORY_UNPAID:
        panel.pay_by = case.deadline_at
    if user.is_authenticated and user.pk == case.customer_id:
        panel.steps = customer_steps(case, claim)
    return panel
