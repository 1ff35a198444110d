"""What a planned regular-price cut would cost in price protection (staff, before cutting it)."""

from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.common.api import valid
from aftersales.common.errors import NotAllowed, ValidationFailed
from aftersales.orders.selectors import product_by_sku

from .. import selectors
from ..workflow import REVIEW
from .base import money


class Exposure(APIView):
    """Staff (priceprotect.review_claim): if `sku`'s regular price were cut to `price` now, how many
    orders still in their window (R-PP-2) would gain, how many units, and the most their claims could
    cost (every one claiming; units later returned are not due). B2B orders, gifts, cancelled orders
    and orders already claimed are left out (R-PP-4, R-PP-5)."""

    class PriceProtectionExposureInput(serializers.Serializer):
        sku = serializers.CharField(max_length=64)
        price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.00"))

    class PriceProtectionExposureOutput(serializers.Serializer):
        sku = serializers.CharField()
        product_name = serializers.CharField()
        current_price = money()
        price = money()
        currency = serializers.CharField()
        orders = serializers.IntegerField()
        units = serializers.IntegerField()
        amount = money()

    @extend_schema(parameters=[PriceProtectionExposureInput], responses=PriceProtectionExposureOutput)
    def get(self, request):
        if not request.user.has_perm(REVIEW):
            raise NotAllowed()
        data = valid(self.PriceProtectionExposureInput, request.query_params)
        product = product_by_sku(data["sku"])
        if product is None:
            raise ValidationFailed(fields={"sku": [_("No product with this SKU.")]})
        figure = selectors.exposure(product, data["price"])
        body = {
            "sku": product.sku,
            "product_name": product.name,
            "current_price": product.price,
            "price": data["price"],
            "currency": settings.SHOP_CURRENCY,
            **figure,
        }
        return Response(self.PriceProtectionExposureOutput(body).data)
