"""Returns over the API. Thin: parse → call a selector or service → render."""

from decimal import Decimal

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.accounts.security import limit_customer
from aftersales.cases.models import Case
from aftersales.cases.selectors import cases_visible_to
from aftersales.common.api import ID_MAX, api_time, multipart_json
from aftersales.common.errors import ValidationFailed
from aftersales.orders.selectors import orders_visible_to, product_by_sku

from . import labels, selectors, services
from .policy import Kind, Reason


class OptionOutput(serializers.Serializer):
    kind = serializers.CharField()
    reason = serializers.CharField()
    open_until = serializers.DateTimeField(allow_null=True)
    return_shipping_paid_by = serializers.CharField()
    photos_required = serializers.BooleanField()
    report_required = serializers.BooleanField()


class RefusalOutput(serializers.Serializer):
    kind = serializers.CharField()
    reason = serializers.CharField()
    rule = serializers.CharField()
    message = serializers.CharField()


class LineOptionsOutput(serializers.Serializer):
    line_id = serializers.IntegerField(source="line.pk")
    sku = serializers.CharField(source="line.product.sku")
    name = serializers.CharField(source="line.product_name")
    quantity = serializers.IntegerField(source="line.quantity")
    returnable_quantity = serializers.IntegerField(source="verdict.returnable_quantity")
    options = OptionOutput(source="verdict.options", many=True)
    refused = RefusalOutput(source="verdict.refused", many=True)


class OrderOptionsOutput(serializers.Serializer):
    order = serializers.CharField()
    lines = LineOptionsOutput(many=True)


class OrderOptions(APIView):
    """R-RET-15 policy transparency: for each line, what is open (until when, who pays return
    shipping) and what is refused (by which rule, and why)."""

    @extend_schema(responses=OrderOptionsOutput)
    def get(self, request, number):
        order = get_object_or_404(orders_visible_to(request.user), number=number)
        return Response(options_data(order, selectors.order_verdicts(order)))


def options_data(order, verdicts) -> dict:
    """OrderOptionsOutput's data, built directly: its nested serializers' fields, built for every
    response, cost more than the policy (tests/returns/test_options_api.py checks that the two agree)."""
    return {
        "order": order.number,
        "lines": [
            {
                "line_id": line.pk,
                "sku": line.product.sku,
                "name": line.product_name,
                "quantity": line.quantity,
                "returnable_quantity": verdict.returnable_quantity,
                "options": [
                    {
                        "kind": str(o.kind),
                        "reason": str(o.reason),
                        "open_until": api_time(o.open_until),
                        "return_shipping_paid_by": str(o.return_shipping_paid_by),
                        "photos_required": o.photos_required,
                        "report_required": o.report_required,
                    }
                    for o in verdict.options
                ],
                "refused": [
                    {"kind": str(r.kind), "reason": str(r.reason), "rule": r.rule, "message": str(r.message)}
                    for r in verdict.refused
                ],
            }
            for line, verdict in verdicts
        ],
    }


# --- Requests and their steps ---------------------------------------------------------------------


def next_step(case) -> str:
    """What the customer (or the shop) does next, in a sentence."""
    deadline = timezone.localtime(case.deadline_at).strftime("%Y-%m-%d %H:%M") if case.deadline_at else ""
    request = case.return_request
    ship_by = timezone.localtime(request.ship_by).strftime("%Y-%m-%d %H:%M") if request.ship_by else deadline
    steps = {
        "submitted": _("We are reviewing your request."),
        "awaiting_parcel": (
            _("Parcel shipped; we will tell you when it arrives.")
            if request.shipped_at
            else _("Send the parcel by %(deadline)s and enter the carrier and tracking number.") % {"deadline": ship_by}
        ),
        "reissue_approved": _("We are sending the items again."),
        "received": _("Your parcel arrived; we are inspecting it."),
        "inspection_passed": (
            _("Inspection passed; please pay the price difference of %(amount)s so we can ship the replacement.")
            % {"amount": request.amount_due}
            if services.difference_unpaid(request)
            else _("Inspection passed; your replacement is being prepared.")
        ),
        "inspection_failed": _("Inspection failed; the goods are sent back to you and nothing is refunded."),
        "refund_pending": _("Your refund is being paid."),
        "refund_refused": _("Your refund needs another look; the shop will contact you."),
        "replacement_shipped": _("Your replacement is on its way; confirm when it arrives.")
        if not deadline
        else _("Your replacement is on its way; confirm when it arrives (by %(deadline)s it counts as received).")
        % {"deadline": deadline},
    }
    return str(steps.get(case.status, _("Nothing more to do.")))


class ReturnCaseOutput(serializers.Serializer):
    number = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    order = serializers.CharField(source="order.number")
    reason = serializers.CharField(source="return_request.reason")
    refund_estimate = serializers.DecimalField(max_digits=12, decimal_places=2, source="return_request.refund_estimate")
    deductions = serializers.DecimalField(max_digits=12, decimal_places=2, source="return_request.deductions")
    refund_due = serializers.DecimalField(max_digits=12, decimal_places=2)  # set by _render
    exchange_sku = serializers.CharField(source="return_request.exchange_product.sku", allow_null=True, default=None)
    amount_due = serializers.DecimalField(max_digits=12, decimal_places=2, source="return_request.amount_due")
    amount_due_paid_at = serializers.DateTimeField(source="return_request.amount_due_paid_at", allow_null=True)
    report_valid_until = serializers.DateField(source="return_request.report_valid_until", allow_null=True)
    ship_by = serializers.DateTimeField(source="return_request.ship_by", allow_null=True)
    return_shipping_paid_by = serializers.CharField(source="return_request.return_shipping_paid_by")
    auto_approved = serializers.BooleanField(source="return_request.auto_approved")
    carrier = serializers.CharField(source="return_request.carrier")
    tracking_number = serializers.CharField(source="return_request.tracking_number")
    shipped_at = serializers.DateTimeField(source="return_request.shipped_at", allow_null=True)
    received_at = serializers.DateTimeField(source="return_request.received_at", allow_null=True)
    inspection_notes = serializers.CharField(source="return_request.inspection_notes")
    outbound_carrier = serializers.CharField(source="return_request.outbound_carrier")
    outbound_tracking_number = serializers.CharField(source="return_request.outbound_tracking_number")
    outbound_shipped_at = serializers.DateTimeField(source="return_request.outbound_shipped_at", allow_null=True)
    deadline_at = serializers.DateTimeField(allow_null=True)
    next_step = serializers.SerializerMethodField()

    def get_next_step(self, case) -> str:
        return next_step(case)


def _return_case(request, number) -> Case:
    """A return case the user may see (their own, or any for staff); anything else is a 404."""
    qs = cases_visible_to(request.user).filter(kind__in=selectors.RETURN_KINDS, return_request__isnull=False)
    return get_object_or_404(qs.select_related("return_request", "order"), number=number)


def _render(case, status_code=status.HTTP_200_OK) -> Response:
    case = Case.objects.select_related("return_request__exchange_product", "order").get(pk=case.pk)
    case.refund_due = services.refund_due(case.return_request)
    return Response(ReturnCaseOutput(case).data, status=status_code)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ReturnLineInput(serializers.Serializer):
    line_id = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)


class ReturnSubmit(APIView):
    """Apply for a return, exchange, reissue or refund-only (DOMAIN §2).

    JSON body: {"order", "kind", "reason", "lines": [{"line_id", "quantity"}], "condition": {flag: bool},
    "description", "exchange_sku" (exchange only), "attachments": []}. Photos cannot be attached to a
    case that does not exist yet, so `attachments` must be empty; to send photos (R-RET-8: required
    for quality problems, transit damage, missing parts, wrong items) post multipart/form-data with
    the same JSON object as a string in the `data` field and the images as `photos` files. An
    appliance's quality claim (the option says `report_required`) also needs the service centre's
    inspection report: a photo in the `report` file and `report_valid_until` (a date) in the JSON."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class ReturnSubmitInput(serializers.Serializer):
        order = serializers.CharField(max_length=64)
        kind = serializers.ChoiceField(choices=Kind.choices)
        reason = serializers.ChoiceField(choices=Reason.choices)
        lines = ReturnLineInput(many=True, max_length=200)
        condition = serializers.DictField(child=serializers.BooleanField(), required=False, default=dict)
        description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
        exchange_sku = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
        attachments = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
        report_valid_until = serializers.DateField(required=False, allow_null=True, default=None)

        def validate_lines(self, value):
            if not value:
                raise serializers.ValidationError(_("Choose at least one item."))
            return value

        def validate_attachments(self, value):
            if value:
                raise serializers.ValidationError(
                    _("Send photos with the request as multipart `photos` files; they cannot be attached in advance.")
                )
            return value

    class ReturnSubmitMultipartInput(serializers.Serializer):
        data = serializers.CharField(help_text="The JSON request body, as a string.")
        photos = serializers.ListField(child=serializers.ImageField(), required=False)
        report = serializers.ImageField(required=False, help_text="The service centre's inspection report (R-RET-8).")

    @extend_schema(
        request={"application/json": ReturnSubmitInput, "multipart/form-data": ReturnSubmitMultipartInput},
        responses={201: ReturnCaseOutput},
    )
    def post(self, request):
        body, photos, report = request.data, [], None
        if request.content_type.startswith("multipart/"):
            body = multipart_json(request)
            photos = request.FILES.getlist("photos")
            report = request.FILES.get("report")
        data = _valid(self.ReturnSubmitInput, body)
        order = get_object_or_404(orders_visible_to(request.user).filter(customer=request.user), number=data["order"])
        exchange_product = None
        if data["exchange_sku"]:
            exchange_product = product_by_sku(data["exchange_sku"])
            if exchange_product is None:
                raise ValidationFailed(fields={"exchange_sku": [_("No product with this SKU.")]})
        limit_customer(request)
        case = services.submit_request(
            customer=request.user,
            order=order,
            kind=data["kind"],
            reason=data["reason"],
            lines=services.resolve_lines(order=order, items=data["lines"]),
            condition=data["condition"],
            description=data["description"],
            exchange_product=exchange_product,
            photos=photos,
            report=report,
            report_valid_until=data["report_valid_until"],
        )
        return _render(case, status.HTTP_201_CREATED)


class ReturnDetail(APIView):
    @extend_schema(responses=ReturnCaseOutput)
    def get(self, request, number):
        return _render(_return_case(request, number))


class ReturnCancel(APIView):
    """R-RET-9: the customer cancels, until the parcel is received."""

    @extend_schema(request=None, responses=ReturnCaseOutput)
    def post(self, request, number):
        return _render(services.cancel(case=_return_case(request, number), customer=request.user))


class ReturnTracking(APIView):
    """R-RET-9: the customer enters the carrier and tracking number of the parcel they sent."""

    class ReturnTrackingInput(serializers.Serializer):
        carrier = serializers.CharField(max_length=64)
        tracking_number = serializers.CharField(max_length=64)

    @extend_schema(request=ReturnTrackingInput, responses=ReturnCaseOutput)
    def post(self, request, number):
        case = _return_case(request, number)
        data = _valid(self.ReturnTrackingInput, request.data)
        return _render(services.enter_tracking(case=case, customer=request.user, **data))


class ReturnApprove(APIView):
    """Staff: approve a submitted request (the customer then has the ship deadline, R-RET-10)."""

    class ReturnApproveInput(serializers.Serializer):
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    @extend_schema(request=ReturnApproveInput, responses=ReturnCaseOutput)
    def post(self, request, number):
        case = _return_case(request, number)
        data = _valid(self.ReturnApproveInput, request.data)
        return _render(services.approve(case=case, actor=request.user, note=data["note"]))


class ReturnReject(APIView):
    """Staff: reject a submitted request with a reason the customer sees."""

    class ReturnRejectInput(serializers.Serializer):
        reason = serializers.CharField(max_length=2000)

    @extend_schema(request=ReturnRejectInput, responses=ReturnCaseOutput)
    def post(self, request, number):
        case = _return_case(request, number)
        data = _valid(self.ReturnRejectInput, request.data)
        return _render(services.reject(case=case, actor=request.user, reason_text=data["reason"]))


class ReturnReceive(APIView):
    """Staff: the parcel arrived (inspection due within the business days allowed, R-RET-10)."""

    @extend_schema(request=None, responses=ReturnCaseOutput)
    def post(self, request, number):
        return _render(services.receive(case=_return_case(request, number), actor=request.user))


class ReturnInspect(APIView):
    """Staff: inspection passed or failed (R-RET-11), with notes and condition deductions."""

    class ReturnInspectInput(serializers.Serializer):
        passed = serializers.BooleanField()
        notes = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
        deductions = serializers.DecimalField(
            max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, default=Decimal("0.00")
        )

    @extend_schema(request=ReturnInspectInput, responses=ReturnCaseOutput)
    def post(self, request, number):
        case = _return_case(request, number)
        data = _valid(self.ReturnInspectInput, request.data)
        return _render(services.inspect(case=case, actor=request.user, **data))


class JsonErrorsNegotiation(BaseContentNegotiation):
    """For views whose success is a plain HttpResponse (a file): whatever the client accepts
    (application/pdf, */*, JSON), negotiation never answers 406, and errors render as JSON."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ShipmentInput(serializers.Serializer):
    carrier = serializers.CharField(max_length=64)
    tracking_number = serializers.CharField(max_length=64)


class ReturnSendBack(APIView):
    """Staff: after a failed inspection, the goods go back to the customer (R-RET-11)."""

    @extend_schema(request=ShipmentInput, responses=ReturnCaseOutput)
    def post(self, request, number):
        case = _return_case(request, number)
        data = _valid(ShipmentInput, request.data)
        return _render(services.send_back(case=case, actor=request.user, **data))


class ReturnShip(APIView):
    """Staff: ship the replacement (exchange, after a passed inspection and any price difference
    paid) or the missing items (reissue, once approved)."""

    @extend_schema(request=ShipmentInput, responses=ReturnCaseOutput)
    def post(self, request, number):
        case = _return_case(request, number)
        data = _valid(ShipmentInput, request.data)
        return _render(services.ship_replacement(case=case, actor=request.user, **data))


class ReturnDifferencePaid(APIView):
    """Staff or the storefront's back office: the customer paid an exchange's price difference
    (R-RET-5); `reference` is the payment's id, kept on the timeline."""

    class DifferencePaidInput(serializers.Serializer):
        reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    @extend_schema(request=DifferencePaidInput, responses=ReturnCaseOutput)
    def post(self, request, number):
        case = _return_case(request, number)
        data = _valid(self.DifferencePaidInput, request.data)
        return _render(services.record_difference_paid(case=case, actor=request.user, reference=data["reference"]))


class ReturnRequeueRefund(APIView):
    """Staff: after finance rejected the refund, queue it again (at most what is still due)."""

    class RequeueRefundInput(serializers.Serializer):
        amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    @extend_schema(request=RequeueRefundInput, responses=ReturnCaseOutput)
    def post(self, request, number):
        case = _return_case(request, number)
        data = _valid(self.RequeueRefundInput, request.data)
        return _render(services.requeue_refund(case=case, actor=request.user, amount=data["amount"], note=data["note"]))


class ReturnCloseWithoutRefund(APIView):
    """Staff: after finance rejected the refund, close the case without one, with a reason the customer sees."""

    class CloseWithoutRefundInput(serializers.Serializer):
        reason = serializers.CharField(max_length=2000)

    @extend_schema(request=CloseWithoutRefundInput, responses=ReturnCaseOutput)
    def post(self, request, number):
        case = _return_case(request, number)
        data = _valid(self.CloseWithoutRefundInput, request.data)
        return _render(services.close_without_refund(case=case, actor=request.user, reason_text=data["reason"]))


class ReturnConfirmReceipt(APIView):
    """The customer received the replacement: the case completes."""

    @extend_schema(request=None, responses=ReturnCaseOutput)
    def post(self, request, number):
        return _render(services.confirm_receipt(case=_return_case(request, number), actor=request.user))


class ReturnLabel(APIView):
    """The return label as an A6 PDF (R-RET-9): for returns and exchanges once approved; any other
    case, or another customer's, is a 404."""

    content_negotiation_class = JsonErrorsNegotiation
    renderer_classes = [JSONRenderer]  # for errors only: the label itself is a plain HttpResponse

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request, number):
        case = _return_case(request, number)
        if not labels.label_available(case):
            raise Http404
        pdf = labels.render_label_pdf(
            case=case, return_request=case.return_request, lines=selectors.label_lines(case.return_request)
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(as_attachment=False, filename=f"{case.number}.pdf")
        return response
