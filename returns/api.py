"""Returns over the API. Thin: parse → call a selector or service → render."""

import json
from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.cases.models import Case
from aftersales.cases.selectors import cases_visible_to
from aftersales.common.errors import ValidationFailed
from aftersales.orders.selectors import orders_visible_to, product_by_sku

from . import selectors, services
from .policy import Kind, Reason


class OptionOutput(serializers.Serializer):
    kind = serializers.CharField()
    reason = serializers.CharField()
    open_until = serializers.DateTimeField(allow_null=True)
    return_shipping_paid_by = serializers.CharField()
    photos_required = serializers.BooleanField()


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
        lines = [{"line": line, "verdict": verdict} for line, verdict in selectors.order_verdicts(order)]
        return Response(OrderOptionsOutput({"order": order.number, "lines": lines}).data)


# --- Requests and their steps ---------------------------------------------------------------------


def next_step(case) -> str:
    """What the customer (or the shop) does next, in a sentence."""
    deadline = timezone.localtime(case.deadline_at).strftime("%Y-%m-%d %H:%M") if case.deadline_at else ""
    request = case.return_request
    steps = {
        "submitted": _("We are reviewing your request."),
        "awaiting_parcel": (
            _("Parcel shipped; we will tell you when it arrives.")
            if request.shipped_at
            else _("Send the parcel by %(deadline)s and enter the carrier and tracking number.")
            % {"deadline": deadline}
        ),
        "received": _("Your parcel arrived; we are inspecting it."),
        "inspection_passed": _("Inspection passed; your refund or replacement is on its way."),
        "inspection_failed": _("Inspection failed; the goods are sent back to you and nothing is refunded."),
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
    return_shipping_paid_by = serializers.CharField(source="return_request.return_shipping_paid_by")
    auto_approved = serializers.BooleanField(source="return_request.auto_approved")
    carrier = serializers.CharField(source="return_request.carrier")
    tracking_number = serializers.CharField(source="return_request.tracking_number")
    shipped_at = serializers.DateTimeField(source="return_request.shipped_at", allow_null=True)
    received_at = serializers.DateTimeField(source="return_request.received_at", allow_null=True)
    inspection_notes = serializers.CharField(source="return_request.inspection_notes")
    deadline_at = serializers.DateTimeField(allow_null=True)
    next_step = serializers.SerializerMethodField()

    def get_next_step(self, case) -> str:
        return next_step(case)


def _return_case(request, number) -> Case:
    """A return case the user may see (their own, or any for staff); anything else is a 404."""
    qs = cases_visible_to(request.user).filter(kind__in=selectors.RETURN_KINDS, return_request__isnull=False)
    return get_object_or_404(qs.select_related("return_request", "order"), number=number)


def _render(case, status_code=status.HTTP_200_OK) -> Response:
    case = Case.objects.select_related("return_request", "order").get(pk=case.pk)
    case.refund_due = services.refund_due(case.return_request)
    return Response(ReturnCaseOutput(case).data, status=status_code)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ReturnLineInput(serializers.Serializer):
    line_id = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1)


class ReturnSubmit(APIView):
    """Apply for a return, exchange, reissue or refund-only (DOMAIN §2).

    JSON body: {"order", "kind", "reason", "lines": [{"line_id", "quantity"}], "condition": {flag: bool},
    "description", "exchange_sku" (exchange only), "attachments": []}. Photos cannot be attached to a
    case that does not exist yet, so `attachments` must be empty; to send photos (R-RET-8: required
    for quality problems, transit damage, missing parts, wrong items) post multipart/form-data with
    the same JSON object as a string in the `data` field and the images as `photos` files."""

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

    @extend_schema(
        request={"application/json": ReturnSubmitInput, "multipart/form-data": ReturnSubmitMultipartInput},
        responses={201: ReturnCaseOutput},
    )
    def post(self, request):
        body, photos = request.data, []
        if request.content_type.startswith("multipart/"):
            try:
                body = json.loads(request.data.get("data") or "")
            except ValueError:
                raise ValidationFailed(fields={"data": [_("Not a JSON object.")]}) from None
            if not isinstance(body, dict):
                raise ValidationFailed(fields={"data": [_("Not a JSON object.")]})
            photos = request.FILES.getlist("photos")
        data = _valid(self.ReturnSubmitInput, body)
        order = get_object_or_404(orders_visible_to(request.user).filter(customer=request.user), number=data["order"])
        exchange_product = None
        if data["exchange_sku"]:
            exchange_product = product_by_sku(data["exchange_sku"])
            if exchange_product is None:
                raise ValidationFailed(fields={"exchange_sku": [_("No product with this SKU.")]})
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
