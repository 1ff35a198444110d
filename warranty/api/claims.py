"""Filing a claim (R-WAR-2, R-WAR-4, R-WAR-7) and a claim as its customer and the shop see it."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.accounts.security import limit_customer
from aftersales.cases.models import Case, CaseKind
from aftersales.common.api import ID_MAX, valid
from aftersales.common.errors import ValidationFailed
from aftersales.orders.guarantees import Remedy

from .. import selectors, services
from ..models import Accessory, Claim, PartUsed
from ..policy import ACCESSORY, ACCESSORY_LABEL, Document, Fault, ServiceMode
from ..workflow import IN_WORKSHOP
from .base import TEXT_MAX, WarrantyMultipartInput, body_and_photos, money

# --- Filing ------------------------------------------------------------------------------------------------

# The API that shows a case of each kind a claim may open.
DETAIL_URL = {
    CaseKind.WARRANTY: "api-warranty-claim",
    CaseKind.RETURN: "api-return-detail",
    CaseKind.EXCHANGE: "api-return-detail",
    CaseKind.REISSUE: "api-return-detail",
    CaseKind.REFUND_ONLY: "api-return-detail",
}


class WarrantyCaseLinksOutput(serializers.Serializer):
    detail = serializers.CharField(help_text="This kind's own API: the claim, or the return or exchange.")
    case = serializers.CharField(help_text="The case's timeline, attachments and notes.")
    portal = serializers.CharField()


class WarrantyCaseOutput(serializers.Serializer):
    """The case a claim opened: a repair (kind "warranty"), or a return or an exchange the returns
    app handles (its own rules and steps) when the customer chose one of those remedies."""

    number = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    deadline_at = serializers.DateTimeField(allow_null=True)
    links = serializers.SerializerMethodField()

    @extend_schema_field(WarrantyCaseLinksOutput)
    def get_links(self, case) -> dict:
        return {
            "detail": reverse(DETAIL_URL.get(case.kind, "api-case-detail"), args=[case.number]),
            "case": reverse("api-case-detail", args=[case.number]),
            "portal": reverse("portal:case-detail", args=[case.number]),
        }


class ClaimFile(APIView):
    """File a warranty claim for one unit of one of your order lines (DOMAIN §3).

    JSON body: {"line_id", "fault", "description", "remedy" (default repair), "documents": [the
    documents you have], "mode" (ship_in or on_site), "unit_id" (a registered unit, optional),
    "accessory_id" (with the remedy "accessory" only)}. To send photos, post multipart/form-data with
    the same JSON object as a string in `data` and the images as `photos` files. A repair sent in with
    every document is accepted at once; a return or an exchange (open in the first days, R-WAR-2, or after
    repeated repairs, R-WAR-9) opens a case of that kind. The remedy "accessory" asks for one of the
    line's `accessories` (see the order's coverage) instead of a repair, at the price shown there
    (R-WAR-6): free → it is sent; priced → it is owed and sent once paid.
    Refusals are 400 with the `rule`: R-WAR-1 (not signed for, a gift), R-WAR-2 (out of warranty or a
    remedy not open today), R-WAR-4 (a required document missing), R-WAR-7 (no on-site service)."""

    parser_classes = [JSONParser, MultiPartParser]

    class WarrantyClaimInput(serializers.Serializer):
        line_id = serializers.IntegerField(min_value=1, max_value=ID_MAX)
        fault = serializers.ChoiceField(choices=Fault.choices)
        description = serializers.CharField(max_length=TEXT_MAX)
        remedy = serializers.ChoiceField(
            choices=[*Remedy.choices, (ACCESSORY, ACCESSORY_LABEL)], required=False, default=Remedy.REPAIR
        )
        documents = serializers.ListField(
            child=serializers.ChoiceField(choices=Document.choices), max_length=20, required=False, default=list
        )
        mode = serializers.ChoiceField(choices=ServiceMode.choices, required=False, default=ServiceMode.SHIP_IN)
        unit_id = serializers.IntegerField(min_value=1, max_value=ID_MAX, required=False, allow_null=True, default=None)
        accessory_id = serializers.IntegerField(
            min_value=1, max_value=ID_MAX, required=False, allow_null=True, default=None
        )

        def validate(self, data):
            if data["remedy"] == ACCESSORY and data["accessory_id"] is None:
                raise serializers.ValidationError({"accessory_id": [_("Choose the accessory you need.")]})
            if data["remedy"] != ACCESSORY and data["accessory_id"] is not None:
                raise serializers.ValidationError(
                    {"accessory_id": [_("An accessory is asked for instead of a repair: choose that remedy.")]}
                )
            return data

    @extend_schema(
        request={"application/json": WarrantyClaimInput, "multipart/form-data": WarrantyMultipartInput},
        responses={201: WarrantyCaseOutput},
    )
    def post(self, request):
        body, photos = body_and_photos(request)
        data = valid(self.WarrantyClaimInput, body)
        line = selectors.customer_line(request.user, data["line_id"])
        if line is None:
            raise ValidationFailed(fields={"line_id": [_("No such item in your orders.")]})
        unit = None
        if data["unit_id"] is not None:
            unit = line.units.filter(pk=data["unit_id"]).first()
            if unit is None:
                raise ValidationFailed(fields={"unit_id": [_("No such unit is registered on this item.")]})
        accessory = None
        if data["accessory_id"] is not None:
            accessory = selectors.line_accessories(line).filter(pk=data["accessory_id"]).first()
            if accessory is None:
                raise ValidationFailed(fields={"accessory_id": [_("No such accessory is sold for this item.")]})
        limit_customer(request)
        case = services.file_claim(
            customer=request.user,
            line=line,
            fault=data["fault"],
            description=data["description"],
            remedy=data["remedy"],
            documents=data["documents"],
            mode=data["mode"],
            unit=unit,
            accessory=accessory,
            photos=photos,
        )
        return Response(WarrantyCaseOutput(case).data, status=status.HTTP_201_CREATED)


# --- A claim as its customer and the shop see it ----------------------------------------------------------


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def next_step(claim: Claim) -> str:
    """What the customer (or the shop) does next, in a sentence."""
    case = claim.case
    deadline = _when(case.deadline_at)
    unpaid = claim.amount_due > 0 and claim.amount_due_paid_at is None
    pay = _("Please pay %(amount)s before it ships back.") % {"amount": claim.amount_due} if unpaid else ""
    if case.status == "submitted":
        text = _("We are reviewing your claim.")
    elif case.status == "awaiting_unit":
        where = claim.centre.address if claim.centre else _("the shop's return address on your case page")
        text = (
            _("Unit sent; we will tell you when it arrives.")
            if claim.tracking_number
            else _("Send the unit to %(where)s by %(deadline)s and enter the carrier and tracking number.")
            % {"where": where, "deadline": deadline}
        )
    elif case.status == "visit_booked":
        text = _("A technician will visit you at %(when)s.") % {"when": _when(claim.visit_at)}
    elif case.status == "excluded":
        text = (
            _("Not covered by the warranty: accept the paid repair (%(amount)s) or decline it by %(deadline)s.")
            % {"amount": claim.quote_amount, "deadline": deadline}
            if claim.quote_amount
            else _("Not covered by the warranty: the unit comes back unrepaired after %(deadline)s.")
            % {"deadline": deadline}
        )
        if claim.appealed_at is None:
            text += " " + _("If you disagree, you may appeal once; a supervisor will review the decision.")
    elif case.status == "accessory_payment":
        text = _("Please pay %(amount)s for %(accessory)s by %(deadline)s; we send it once it is paid.") % {
            "amount": claim.amount_due,
            "accessory": claim.accessory.name,
            "deadline": deadline,
        }
    elif case.status == "accessory_to_ship":
        text = _("We are preparing %(accessory)s for you.") % {"accessory": claim.accessory.name}
    elif case.status == "accessory_shipped":
        text = _("Your accessory is on its way; confirm when it arrives (by %(deadline)s it counts as received).") % {
            "deadline": deadline
        }
    elif case.status == "shipped_back":
        text = _("Your unit is on its way back; confirm when it arrives (by %(deadline)s it counts as received).") % {
            "deadline": deadline
        }
    elif case.status == "handed_over" and claim.handed_over_to is not None:
        text = _("We replace or refund it instead: see case %(number)s.") % {"number": claim.handed_over_to.number}
    else:
        text = {
            "received": _("Your unit arrived; a technician will diagnose it."),
            "diagnosing": _("A technician is diagnosing your unit."),
            "appealed": _("A supervisor is reviewing your appeal."),
            "repairing": " ".join(filter(None, [_("Your unit is being repaired."), pay])),
            "quality_check": " ".join(filter(None, [_("Repaired; a quality check follows."), pay])),
            "returning": _("Your unit is being sent back unrepaired."),
        }.get(case.status, _("Nothing more to do."))
    if case.status in IN_WORKSHOP and claim.replacement_offered_at is not None:
        text += " " + _("You may take a free replacement instead (R-WAR-10).")
    return str(text)


# The URL of each step the services offer (`selectors.available_steps` names them as the services do).
STEP_SLUGS = {"enter_tracking": "tracking", "add_part": "parts", "record_payment": "payment"}


class WarrantyCentreOutput(serializers.Serializer):
    name = serializers.CharField()
    address = serializers.CharField()
    phone = serializers.CharField()


class WarrantyDocumentOutput(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()


class WarrantyAccessoryOutput(serializers.ModelSerializer):
    price = money(help_text="The catalogue price.")

    class Meta:
        model = Accessory
        fields = ["id", "name", "price", "wearing_part"]


class WarrantyPartOutput(serializers.ModelSerializer):
    unit_price = money()

    class Meta:
        model = PartUsed
        fields = ["id", "name", "quantity", "unit_price", "added_at"]


class WarrantyClaimOutput(serializers.Serializer):
    number = serializers.CharField(source="case.number")
    kind = serializers.CharField(source="case.kind")
    status = serializers.CharField(source="case.status")
    status_label = serializers.CharField(source="case.get_status_display")
    version = serializers.IntegerField(
        source="case.version", help_text="Send it back with a part or a payment: a claim changed since is a 409."
    )
    opened_at = serializers.DateTimeField(source="case.opened_at")
    closed_at = serializers.DateTimeField(source="case.closed_at", allow_null=True)
    deadline_at = serializers.DateTimeField(source="case.deadline_at", allow_null=True)
    order = serializers.CharField(source="order_line.order.number")
    line_id = serializers.IntegerField(source="order_line.pk")
    line_no = serializers.IntegerField(source="order_line.line_no")
    sku = serializers.CharField(source="order_line.product.sku")
    product_name = serializers.CharField(source="order_line.product_name")
    serial_number = serializers.CharField(source="unit.serial_number", allow_null=True, default=None)
    fault = serializers.CharField()
    fault_label = serializers.CharField(source="get_fault_display")
    description = serializers.CharField()
    accessory = WarrantyAccessoryOutput(
        allow_null=True, help_text="R-WAR-6: the accessory asked for instead of a repair."
    )
    accessory_price = money(allow_null=True, help_text="R-WAR-6: what the accessory costs on this claim (0: free).")
    mode = serializers.CharField()
    mode_label = serializers.CharField(source="get_mode_display")
    visit_at = serializers.DateTimeField(allow_null=True)
    centre = WarrantyCentreOutput(allow_null=True)
    coverage_ends_at = serializers.DateTimeField()
    missing_documents = serializers.SerializerMethodField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    received_at = serializers.DateTimeField(allow_null=True)
    diagnosis = serializers.CharField()
    diagnosis_label = serializers.CharField(source="get_diagnosis_display")
    diagnosis_notes = serializers.CharField()
    exclusion = serializers.CharField()
    exclusion_label = serializers.CharField(source="get_exclusion_display")
    exclusion_explanation = serializers.CharField()
    quote_amount = money(allow_null=True)
    amount_due = money()
    paid = serializers.SerializerMethodField()
    appealed = serializers.SerializerMethodField()
    replacement_offered = serializers.SerializerMethodField()
    handed_over_to = serializers.CharField(source="handed_over_to.number", allow_null=True, default=None)
    outbound_carrier = serializers.CharField()
    outbound_tracking_number = serializers.CharField()
    shipped_back_at = serializers.DateTimeField(allow_null=True)
    repair_days = serializers.IntegerField()
    parts = WarrantyPartOutput(many=True)
    next_step = serializers.SerializerMethodField()
    available_actions = serializers.SerializerMethodField()

    @extend_schema_field(WarrantyDocumentOutput(many=True))
    def get_missing_documents(self, claim) -> list[dict]:
        known = dict(Document.choices)
        return [{"code": doc, "label": str(known.get(doc, doc))} for doc in claim.missing_documents]

    def get_paid(self, claim) -> bool:
        return claim.amount_due_paid_at is not None

    def get_appealed(self, claim) -> bool:
        return claim.appealed_at is not None

    def get_replacement_offered(self, claim) -> bool:
        return claim.replacement_offered_at is not None

    def get_next_step(self, claim) -> str:
        return next_step(claim)

    def get_available_actions(self, claim) -> list[str]:
        """The steps (their URL names) the requesting user may take now."""
        steps = selectors.available_steps(self.context["request"].user, claim)
        return [STEP_SLUGS.get(step, step.replace("_", "-")) for step in steps]


def claim_case(request, number) -> Case:
    """A warranty case the user may see (their own, or any for case staff); anything else is a 404."""
    return get_object_or_404(selectors.warranty_cases_visible_to(request.user), number=number)


def render(request, case, status_code=status.HTTP_200_OK) -> Response:
    claim = selectors.claim_detail(case)
    return Response(WarrantyClaimOutput(claim, context={"request": request}).data, status=status_code)


class ClaimDetail(APIView):
    """The claim: where it stands, what diagnosis found, what is owed, what comes next and the steps
    the requesting user may take now (`available_actions`, each the last part of its step's URL)."""

    @extend_schema(responses=WarrantyClaimOutput)
    def get(self, request, number):
        return render(request, claim_case(request, number))
