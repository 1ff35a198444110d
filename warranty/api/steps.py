"""One endpoint per step of a repair (R-WAR-3, R-WAR-5, R-WAR-10): the customer's, then the shop's.
Each finds the claim (404), parses its body (400), calls the step's service and renders the claim."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.common.api import MomentField, valid

from .. import services
from ..policy import Diagnosis, Exclusion
from .base import TEXT_MAX, WarrantyMultipartInput, body_and_photos, money
from .claims import WarrantyClaimOutput, WarrantyPartOutput, claim_case, render


class WarrantyNoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")


def version_field():
    return serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        allow_null=True,
        default=None,
        help_text="The claim's `version` as you read it: a claim changed since is a 409 (conflict), so a "
        "request sent twice writes once. Without it, the step applies to the claim as it is now.",
    )


def at_version(case, version):
    """The case as of the version the client read (optimistic check in the service), if it sent one."""
    if version is not None:
        case.version = version
    return case


class WarrantyShipmentInput(serializers.Serializer):
    carrier = serializers.CharField(max_length=64)
    tracking_number = serializers.CharField(max_length=64)


# The customer's steps.


class ClaimCancel(APIView):
    """The customer cancels, until the unit arrives or the technician visits."""

    @extend_schema(request=None, responses=WarrantyClaimOutput)
    def post(self, request, number):
        return render(request, services.cancel(case=claim_case(request, number), customer=request.user))


class ClaimTracking(APIView):
    """The customer sent the unit: the claim no longer expires; sending it again corrects the entry."""

    @extend_schema(request=WarrantyShipmentInput, responses=WarrantyClaimOutput)
    def post(self, request, number):
        case = claim_case(request, number)
        data = valid(WarrantyShipmentInput, request.data)
        return render(request, services.enter_tracking(case=case, customer=request.user, **data))


class ClaimAcceptQuote(APIView):
    """R-WAR-3: the customer accepts the paid repair; it is paid before the unit ships back."""

    @extend_schema(request=None, responses=WarrantyClaimOutput)
    def post(self, request, number):
        return render(request, services.accept_quote(case=claim_case(request, number), customer=request.user))


class ClaimDeclineQuote(APIView):
    """R-WAR-3: the customer declines the paid repair; the unit comes back unrepaired."""

    @extend_schema(request=None, responses=WarrantyClaimOutput)
    def post(self, request, number):
        return render(request, services.decline_quote(case=claim_case(request, number), customer=request.user))


class ClaimAppeal(APIView):
    """R-WAR-3: the customer contests an exclusion, once; a supervisor decides."""

    class WarrantyAppealInput(serializers.Serializer):
        text = serializers.CharField(max_length=TEXT_MAX)

    @extend_schema(request=WarrantyAppealInput, responses=WarrantyClaimOutput)
    def post(self, request, number):
        case = claim_case(request, number)
        data = valid(self.WarrantyAppealInput, request.data)
        return render(request, services.appeal(case=case, customer=request.user, text=data["text"]))


class ClaimConfirmReceipt(APIView):
    """The customer has the repaired unit back: the claim closes."""

    @extend_schema(request=None, responses=WarrantyClaimOutput)
    def post(self, request, number):
        return render(request, services.confirm_receipt(case=claim_case(request, number), actor=request.user))


class ClaimTakeReplacement(APIView):
    """R-WAR-10: the customer takes the free replacement offered for a long repair."""

    @extend_schema(request=None, responses=WarrantyClaimOutput)
    def post(self, request, number):
        return render(request, services.take_replacement(case=claim_case(request, number), customer=request.user))


# The shop's steps.


class ClaimAccept(APIView):
    """Staff: accept a submitted claim; the customer sends the unit in within the configured days."""

    @extend_schema(request=WarrantyNoteInput, responses=WarrantyClaimOutput)
    def post(self, request, number):
        case = claim_case(request, number)
        data = valid(WarrantyNoteInput, request.data)
        return render(request, services.accept(case=case, actor=request.user, note=data["note"]))


class ClaimBookVisit(APIView):
    """Staff: accept an on-site claim with the technician's visit booked (R-WAR-5)."""

    class WarrantyVisitInput(serializers.Serializer):
        visit_at = MomentField()
        note = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")

    @extend_schema(request=WarrantyVisitInput, responses=WarrantyClaimOutput)
    def post(self, request, number):
        case = claim_case(request, number)
        data = valid(self.WarrantyVisitInput, request.data)
        return render(request, services.book_visit(case=case, actor=request.user, **data))


class ClaimReject(APIView):
    """Staff: reject a submitted claim with a reason the customer reads."""

    class WarrantyRejectInput(serializers.Serializer):
        reason = serializers.CharField(max_length=TEXT_MAX)

    @extend_schema(request=WarrantyRejectInput, responses=WarrantyClaimOutput)
    def post(self, request, number):
        case = claim_case(request, number)
        data = valid(self.WarrantyRejectInput, request.data)
        return render(request, services.reject(case=case, actor=request.user, reason_text=data["reason"]))


class ClaimReceive(APIView):
    """Staff: the unit arrived; the repair clock starts (R-WAR-8, R-WAR-10)."""

    @extend_schema(request=None, responses=WarrantyClaimOutput)
    def post(self, request, number):
        return render(request, services.receive(case=claim_case(request, number), actor=request.user))


class ClaimStartDiagnosis(APIView):
    """Technician: start the diagnosis (an on-site visit counts as the unit's arrival)."""

    @extend_schema(request=None, responses=WarrantyClaimOutput)
    def post(self, request, number):
        return render(request, services.start_diagnosis(case=claim_case(request, number), actor=request.user))


class ClaimDiagnose(APIView):
    """Technician (R-WAR-3, R-WAR-5): covered → free repair; excluded → the exclusion, an explanation
    for the customer, evidence photos (multipart: the JSON as a string in `data`, images as `photos`)
    and an optional paid quote; irreparable → a replacement, or a refund where none is sold."""

    parser_classes = [JSONParser, MultiPartParser]

    class WarrantyDiagnoseInput(serializers.Serializer):
        outcome = serializers.ChoiceField(choices=Diagnosis.choices)
        notes = serializers.CharField(max_length=TEXT_MAX)
        exclusion = serializers.ChoiceField(choices=Exclusion.choices, required=False, allow_blank=True, default="")
        explanation = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")
        quote = money(required=False, allow_null=True, default=None, help_text="A paid repair's price (excluded).")

    @extend_schema(
        request={"application/json": WarrantyDiagnoseInput, "multipart/form-data": WarrantyMultipartInput},
        responses=WarrantyClaimOutput,
    )
    def post(self, request, number):
        case = claim_case(request, number)
        body, photos = body_and_photos(request)
        data = valid(self.WarrantyDiagnoseInput, body)
        return render(request, services.diagnose(case=case, actor=request.user, photos=photos, **data))


class ClaimParts(APIView):
    """Technician: a part the repair used (free under the warranty, at its price on a paid repair).
    With `version`, a request repeated or sent after the claim changed is a 409, not a second part."""

    class WarrantyPartInput(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        quantity = serializers.IntegerField(min_value=1, max_value=999, required=False, default=1)
        unit_price = money(required=False, allow_null=True, default=None)
        version = version_field()

    @extend_schema(request=WarrantyPartInput, responses={201: WarrantyPartOutput})
    def post(self, request, number):
        case = claim_case(request, number)
        data = valid(self.WarrantyPartInput, request.data)
        case = at_version(case, data.pop("version"))
        part = services.add_part(case=case, actor=request.user, **data)
        return Response(WarrantyPartOutput(part).data, status=status.HTTP_201_CREATED)


class ClaimRepaired(APIView):
    """Technician: the repair is done; a quality check follows."""

    class WarrantyRepairedInput(serializers.Serializer):
        notes = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")

    @extend_schema(request=WarrantyRepairedInput, responses=WarrantyClaimOutput)
    def post(self, request, number):
        case = claim_case(request, number)
        data = valid(self.WarrantyRepairedInput, request.data)
        return render(request, services.repaired(case=case, actor=request.user, notes=data["notes"]))


class ClaimFailQualityCheck(APIView):
    """Technician: the quality check failed; back to the repair (not shown to the customer)."""

    class WarrantyQualityCheckInput(serializers.Serializer):
        notes = serializers.CharField(max_length=TEXT_MAX)

    @extend_schema(request=WarrantyQualityCheckInput, responses=WarrantyClaimOutput)
    def post(self, request, number):
        case = claim_case(request, number)
        data = valid(self.WarrantyQualityCheckInput, request.data)
        return render(request, services.fail_quality_check(case=case, actor=request.user, notes=data["notes"]))


class ClaimShipBack(APIView):
    """Technician: quality checked, shipped back (a paid repair once paid); the days in a covered
    repair extend the warranty (R-WAR-8)."""

    @extend_schema(request=WarrantyShipmentInput, responses=WarrantyClaimOutput)
    def post(self, request, number):
        case = claim_case(request, number)
        data = valid(WarrantyShipmentInput, request.data)
        return render(request, services.ship_back(case=case, actor=request.user, **data))


class ClaimShipBackUnrepaired(APIView):
    """Staff: a declined or lapsed quote: the unit goes back as it came (R-WAR-3)."""

    @extend_schema(request=WarrantyShipmentInput, responses=WarrantyClaimOutput)
    def post(self, request, number):
        case = claim_case(request, number)
        data = valid(WarrantyShipmentInput, request.data)
        return render(request, services.ship_back_unrepaired(case=case, actor=request.user, **data))


class ClaimShipAccessory(APIView):
    """Staff: send the accessory asked for instead of a repair (a priced one once paid, R-WAR-6); the
    claim closes when the customer confirms receipt, or after the confirmation days."""

    @extend_schema(request=WarrantyShipmentInput, responses=WarrantyClaimOutput)
    def post(self, request, number):
        case = claim_case(request, number)
        data = valid(WarrantyShipmentInput, request.data)
        return render(request, services.ship_accessory(case=case, actor=request.user, **data))


class ClaimPayment(APIView):
    """Staff or the storefront's back office: the customer paid for an accepted paid repair or a
    priced accessory (which is then prepared, R-WAR-6); `reference` is the payment's id, kept on the
    timeline. With `version`, a request repeated or sent after the claim changed is a 409."""

    class WarrantyPaymentInput(serializers.Serializer):
        reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        version = version_field()

    @extend_schema(request=WarrantyPaymentInput, responses=WarrantyClaimOutput)
    def post(self, request, number):
        case = claim_case(request, number)
        data = valid(self.WarrantyPaymentInput, request.data)
        case = at_version(case, data["version"])
        return render(request, services.record_payment(case=case, actor=request.user, reference=data["reference"]))


class ClaimDecideAppeal(APIView):
    """Supervisor (R-WAR-3): overturn the exclusion (free repair) or uphold it (the quote stands)."""

    class WarrantyAppealDecisionInput(serializers.Serializer):
        overturn = serializers.BooleanField()
        note = serializers.CharField(max_length=TEXT_MAX)

    @extend_schema(request=WarrantyAppealDecisionInput, responses=WarrantyClaimOutput)
    def post(self, request, number):
        case = claim_case(request, number)
        data = valid(self.WarrantyAppealDecisionInput, request.data)
        return render(request, services.decide_appeal(case=case, actor=request.user, **data))
