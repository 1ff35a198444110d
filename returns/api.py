"""Returns over the API. Thin: parse → call a selector or service → render."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.orders.selectors import orders_visible_to

from . import selectors


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
