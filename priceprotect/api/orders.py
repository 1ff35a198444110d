"""R-PP-1 … R-PP-5: what a price-protection claim on an order would yield now, line by line."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.orders.selectors import orders_visible_to

from .. import overview
from .base import PriceProtectionRefusalOutput, money, percent


class PriceProtectionPromotionOutput(serializers.Serializer):
    """A promotion or pricing-error price in effect below what was paid: never a basis (R-PP-4)."""

    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    price = money()
    ends_at = serializers.DateTimeField(allow_null=True)


class PriceProtectionLineOutput(serializers.Serializer):
    line_id = serializers.IntegerField(source="line.pk")
    line_no = serializers.IntegerField(source="line.line_no")
    sku = serializers.CharField(source="line.product.sku")
    product_name = serializers.CharField(source="line.product_name")
    quantity = serializers.IntegerField(source="line.quantity")
    is_gift = serializers.BooleanField(source="line.is_gift")
    units = serializers.IntegerField(source="verdict.units", help_text="Units not being returned (R-PP-6).")
    paid_unit_price = money(source="verdict.paid_unit")
    regular_price = money(source="verdict.basis", help_text="The regular price now: the only basis (R-PP-4).")
    amount = money(source="yields", help_text="What a claim made now would pay for this line (R-PP-1).")
    drop_percent = percent(source="verdict.drop_percent")
    closes_at = serializers.DateTimeField(
        source="verdict.closes_at",
        allow_null=True,
        help_text="R-PP-2: the end of the sign-for (pickup) day, or `window_days` later; null until signed for.",
    )
    window_days = serializers.IntegerField()
    refusal = PriceProtectionRefusalOutput(source="verdict.refusal", allow_null=True)
    promotion = PriceProtectionPromotionOutput(allow_null=True)


class PriceProtectionClaimSummaryOutput(serializers.Serializer):
    number = serializers.CharField(source="case.number")
    status = serializers.CharField(source="case.status")
    status_label = serializers.CharField(source="case.get_status_display")
    amount = money()
    revoked_amount = money()


class PriceProtectionOrderOutput(serializers.Serializer):
    order = serializers.CharField(source="order.number")
    currency = serializers.CharField(source="order.currency")
    claimable = serializers.BooleanField(help_text="A claim made now would be accepted (POST it to the claims).")
    amount = money(help_text="What a claim made now would pay in all (R-PP-1).")
    mode = serializers.CharField(
        source="verdict.mode", help_text="R-PP-3: credit, or reprice (still in the warehouse)."
    )
    destination = serializers.CharField(help_text="Where a credit would go (the shop's setting); empty if repriced.")
    window_opens_at = serializers.DateTimeField(source="verdict.window_opens_at", allow_null=True)
    window_closes_at = serializers.DateTimeField(
        source="verdict.window_closes_at", allow_null=True, help_text="The last line's; null until signed for."
    )
    refusal = PriceProtectionRefusalOutput(
        source="verdict.refusal", allow_null=True, help_text="Why no claim is accepted now (R-PP-5 once claimed)."
    )
    lines = PriceProtectionLineOutput(many=True)
    claim = PriceProtectionClaimSummaryOutput(allow_null=True)


class OrderPriceProtection(APIView):
    """R-PP-1 … R-PP-5: for each line of your order, what you paid per unit, the regular price now,
    what a claim made now would pay and until when (R-PP-2), or the rule refusing it; a promotion or
    pricing-error price in effect is listed but never a basis (R-PP-4). Once claimed, the claim."""

    @extend_schema(responses=PriceProtectionOrderOutput)
    def get(self, request, number):
        order = get_object_or_404(orders_visible_to(request.user), number=number)
        return Response(PriceProtectionOrderOutput(overview.order_overview(order)).data)
