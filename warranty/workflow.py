"""Transition table for warranty claims (R-WAR-3, R-WAR-5, R-WAR-10).

submitted → accepted: awaiting the unit (a ship-in deadline) or a visit booked → received → diagnosing →
- covered → repairing → quality check → shipped back → closed (the customer confirms, or after N days);
- excluded (R-WAR-3) → the customer accepts the paid quote (→ repairing), declines it or lets it lapse
  (→ the unit goes back unrepaired), or appeals once (→ a supervisor upholds or overturns);
- irreparable → handed over: a replacement, or a refund where none is sold (the returns app's case).
A repair unfinished after N days offers a free replacement (R-WAR-10), which also hands over.

An accessory claim (R-WAR-6) asks for a part instead of a repair; no unit travels. It is decided when
filed: free (a wearing part under warranty) → the part is prepared at once; priced → the customer pays
within N days (or it is cancelled), then it is prepared → staff ship it → closed as a repair's return is.

Who: agents and technicians move the parcel (`cases.change_case`); technicians diagnose, repair and
check (`warranty.repair_claim`); supervisors decide appeals (`warranty.decide_appeal`). Step logic
lives in `warranty.services`; deadline handlers in `warranty.deadlines`."""

from django.utils.translation import gettext_lazy as _

from aftersales.cases.models import CaseKind
from aftersales.cases.workflow import DeadlineAction, Transition, Workflow

STATUSES = {
    "submitted": _("Submitted"),
    "awaiting_unit": _("Accepted: awaiting your unit"),
    "visit_booked": _("Accepted: technician visit booked"),
    "received": _("Unit received"),
    "diagnosing": _("Being diagnosed"),
    "excluded": _("Not covered: paid repair offered"),
    "appealed": _("Appeal with a supervisor"),
    "repairing": _("Being repaired"),
    "quality_check": _("Quality check"),
    "returning": _("Being returned unrepaired"),
    "shipped_back": _("Repaired and shipped back"),
    "accessory_payment": _("Accessory ordered: awaiting your payment"),
    "accessory_to_ship": _("Accessory being prepared"),
    "accessory_shipped": _("Accessory shipped"),
    "closed": _("Closed"),
    "returned_unrepaired": _("Returned unrepaired"),
    "handed_over": _("Replaced or refunded instead"),
    "rejected": _("Rejected"),
    "cancelled": _("Cancelled"),
    "expired": _("Expired (unit not sent in time)"),
}
FINAL = frozenset({"closed", "returned_unrepaired", "handed_over", "rejected", "cancelled", "expired"})
FEEDBACK_ON = frozenset({"closed", "returned_unrepaired", "handed_over", "rejected"})
# The unit is with the shop or its centre: the statuses a repair board shows and R-WAR-10 watches.
IN_WORKSHOP = frozenset({"received", "diagnosing", "repairing", "quality_check"})

# The customer's steps the claim's portal panel takes through `warranty.services` (a quote's amount,
# the appeal's text and once-only rule, the replacement offer): never the case page's generic buttons.
# Cancelling stays a generic button.
CUSTOMER_STEPS = frozenset({"accept_quote", "decline_quote", "appeal", "confirm_receipt", "take_replacement"})

STAFF = "cases.change_case"
TECHNICIAN = "warranty.repair_claim"
SUPERVISOR = "warranty.decide_appeal"


def _t(name, sources, target, label, allowed=STAFF):
    return Transition(name=name, sources=frozenset(sources), target=target, allowed=allowed, label=label)


TRANSITIONS = [
    _t("accept", {"submitted"}, "awaiting_unit", _("Accept")),
    _t("book_visit", {"submitted"}, "visit_booked", _("Accept and book the visit")),
    _t("reject", {"submitted"}, "rejected", _("Reject")),
    _t(
        "cancel",
        {"submitted", "awaiting_unit", "visit_booked", "accessory_payment"},
        "cancelled",
        _("Cancel my claim"),
        "customer",
    ),
    _t("expire", {"awaiting_unit"}, "expired", _("Expire"), "system"),
    _t("receive", {"awaiting_unit"}, "received", _("Unit received")),
    _t("start_diagnosis", {"received", "visit_booked"}, "diagnosing", _("Start diagnosis"), TECHNICIAN),
    _t("diagnose_covered", {"diagnosing"}, "repairing", _("Covered: repair"), TECHNICIAN),
    _t("diagnose_excluded", {"diagnosing"}, "excluded", _("Not covered"), TECHNICIAN),
    _t("diagnose_irreparable", {"diagnosing"}, "handed_over", _("Cannot be repaired"), TECHNICIAN),
    _t("accept_quote", {"excluded"}, "repairing", _("Accept the paid repair"), "customer"),
    _t("decline_quote", {"excluded"}, "returning", _("Decline: send my unit back"), "customer"),
    _t("quote_lapsed", {"excluded"}, "returning", _("Quote lapsed"), "system"),
    _t("appeal", {"excluded"}, "appealed", _("Appeal the decision"), "customer"),
    _t("uphold", {"appealed"}, "excluded", _("Uphold the exclusion"), SUPERVISOR),
    _t("overturn", {"appealed"}, "repairing", _("Overturn: repair for free"), SUPERVISOR),
    _t("repaired", {"repairing"}, "quality_check", _("Repair done"), TECHNICIAN),
    _t("fail_quality_check", {"quality_check"}, "repairing", _("Quality check failed"), TECHNICIAN),
    _t("ship_back", {"quality_check"}, "shipped_back", _("Quality checked: ship back"), TECHNICIAN),
    _t("ship_back_unrepaired", {"returning"}, "returned_unrepaired", _("Ship back unrepaired")),
    _t("confirm_receipt", {"shipped_back", "accessory_shipped"}, "closed", _("I received my unit"), "customer"),
    _t("close", {"shipped_back", "accessory_shipped"}, "closed", _("Close"), "system"),
    _t("take_replacement", IN_WORKSHOP, "handed_over", _("Take the free replacement"), "customer"),
    # R-WAR-6: an accessory instead of a repair, priced when filed.
    _t("accessory_free", {"submitted"}, "accessory_to_ship", _("Free accessory: prepare it"), "system"),
    _t("accessory_priced", {"submitted"}, "accessory_payment", _("Priced accessory: await payment"), "system"),
    _t("accessory_paid", {"accessory_payment"}, "accessory_to_ship", _("Payment received")),
    _t("accessory_unpaid", {"accessory_payment"}, "cancelled", _("Not paid in time"), "system"),
    _t("ship_accessory", {"accessory_to_ship"}, "accessory_shipped", _("Ship the accessory")),
]

EXPIRE_UNSENT = "expire_unsent"
QUOTE_LAPSED = "quote_lapsed"
LONG_REPAIR = "long_repair"
CONFIRM_RECEIPT = "confirm_receipt"
ACCESSORY_UNPAID = "accessory_unpaid"
# Where the shop has sent something back and the customer confirms (or the days pass).
SENT_TO_CUSTOMER = frozenset({"shipped_back", "accessory_shipped"})


def _deadline_actions() -> list[DeadlineAction]:
    from . import deadlines

    return [
        DeadlineAction(
            name=EXPIRE_UNSENT,
            transition="expire",
            label=_("close the claim: the unit was not sent"),
            note=_("The unit was not sent within the deadline after acceptance, so the claim was closed."),
        ),
        DeadlineAction(
            name=QUOTE_LAPSED, handler=deadlines.quote_lapsed, label=_("no answer to the quote: send the unit back")
        ),
        DeadlineAction(
            name=LONG_REPAIR, handler=deadlines.long_repair, label=_("repair too long: offer a free replacement")
        ),
        DeadlineAction(name=CONFIRM_RECEIPT, handler=deadlines.confirm_receipt, label=_("count the unit as delivered")),
        DeadlineAction(
            name=ACCESSORY_UNPAID,
            transition="accessory_unpaid",
            label=_("cancel the claim: the accessory was not paid for"),
            note=_("The accessory was not paid for within the deadline, so the claim was cancelled."),
        ),
    ]


def staff_steps_url(case) -> str:
    """Staff take a claim's steps on its repair page, where checks, parts and deadlines are handled."""
    from django.urls import reverse

    return reverse("admin:warranty_claim_change", args=[case.pk])


def workflows() -> list[Workflow]:
    return [
        Workflow(
            kind=CaseKind.WARRANTY,
            initial="submitted",
            statuses=STATUSES,
            final=FINAL,
            transitions={t.name: t for t in TRANSITIONS},
            deadline_actions={a.name: a for a in _deadline_actions()},
            feedback_on=FEEDBACK_ON,
            staff_steps_url=staff_steps_url,
            own_customer_steps=CUSTOMER_STEPS,
        )
    ]
