"""Orders over the API.

- /storefront/…: the storefront ingest (R-ORD-3), authenticated by a storefront token: orders
  upserted whole and idempotently, milestones, products and their price history.
- /orders/…: customers read their own orders; staff with `orders.view_order` read all.

Thin: parse → call a service or selector → render.
"""

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.common.api import MomentField, api_money, api_time

from . import selectors, services
from .authentication import IsStorefront, StorefrontAuthentication
from .models import (
    MONEY,
    ORDER_STATUS_LABELS,
    ZERO,
    Order,
    OrderLine,
    Parcel,
    PaymentMode,
    PriceChange,
    PriceKind,
    Product,
)

MAX_LINES = 500
MAX_PARCELS = 50


def _money(**kwargs):
    return serializers.DecimalField(**MONEY, **kwargs)


# --- Output ------------------------------------------------------------------------------------


class OrderLineOutput(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    unit_price_paid = _money()
    is_gift = serializers.BooleanField()
    gift_of_line_no = serializers.IntegerField(source="gift_of.line_no", default=None, allow_null=True)

    class Meta:
        model = OrderLine
        fields = [
            "line_no",
            "sku",
            "product_name",
            "quantity",
            "unit_price",
            "discount",
            "paid_amount",
            "unit_price_paid",
            "is_gift",
            "gift_of_line_no",
        ]


class ParcelOutput(serializers.ModelSerializer):
    class Meta:
        model = Parcel
        fields = ["carrier", "tracking_number", "shipped_at", "signed_for_at"]


class OrderOutput(serializers.ModelSerializer):
    customer = serializers.EmailField(source="customer.email")
    status = serializers.ChoiceField(choices=ORDER_STATUS_LABELS)
    status_label = serializers.CharField(source="get_status_display")
    payment_mode_label = serializers.CharField(source="get_payment_mode_display")

    class Meta:
        model = Order
        fields = [
            "number",
            "customer",
            "status",
            "status_label",
            "payment_mode",
            "payment_mode_label",
            "is_b2b",
            "currency",
            "goods_total",
            "discount_total",
            "shipping_fee",
            "paid_total",
            "placed_at",
            "paid_at",
            "left_warehouse_at",
            "signed_for_at",
            "cancelled_at",
        ]


def order_row(order: Order) -> dict:
    """OrderOutput's data, built directly for the list endpoint (tests/orders/test_orders_api.py checks
    that the two agree)."""
    return {
        "number": order.number,
        "customer": order.customer.email,
        "status": order.status,
        "status_label": str(order.get_status_display()),
        "payment_mode": order.payment_mode,
        "payment_mode_label": str(order.get_payment_mode_display()),
        "is_b2b": order.is_b2b,
        "currency": order.currency,
        "goods_total": api_money(order.goods_total),
        "discount_total": api_money(order.discount_total),
        "shipping_fee": api_money(order.shipping_fee),
        "paid_total": api_money(order.paid_total),
        "placed_at": api_time(order.placed_at),
        "paid_at": api_time(order.paid_at),
        "left_warehouse_at": api_time(order.left_warehouse_at),
        "signed_for_at": api_time(order.signed_for_at),
        "cancelled_at": api_time(order.cancelled_at),
    }


class OrderCaseOutput(serializers.Serializer):
    number = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    opened_at = serializers.DateTimeField()


class OrderDetailOutput(OrderOutput):
    customer_name = serializers.CharField(source="customer.full_name")
    lines = OrderLineOutput(many=True)
    parcels = ParcelOutput(many=True)
    cases = serializers.SerializerMethodField()

    class Meta(OrderOutput.Meta):
        fields = [*OrderOutput.Meta.fields, "customer_name", "shipping_address", "lines", "parcels", "cases"]

    @extend_schema_field(OrderCaseOutput(many=True))
    def get_cases(self, obj) -> list[dict]:
        return OrderCaseOutput(selectors.order_cases(user=self.context["request"].user, order=obj), many=True).data


class StorefrontOrderOutput(OrderOutput):
    created = serializers.SerializerMethodField()
    changed = serializers.SerializerMethodField()
    customer_name = serializers.CharField(source="customer.full_name")
    lines = OrderLineOutput(many=True)
    parcels = ParcelOutput(many=True)

    class Meta(OrderOutput.Meta):
        fields = [
            "created",
            "changed",
            *OrderOutput.Meta.fields,
            "customer_name",
            "shipping_address",
            "lines",
            "parcels",
        ]

    def get_created(self, obj) -> bool:
        return self.context["created"]

    def get_changed(self, obj) -> bool:
        return self.context["changed"]


# --- Customers and staff -----------------------------------------------------------------------


class OrderList(generics.ListAPIView):
    """The requesting customer's orders, newest first; staff with orders.view_order see everyone's
    and may filter by customer e-mail and payment mode."""

    serializer_class = OrderOutput
    filter_backends = []
    queryset = Order.objects.none()  # for the schema generator; the real one is per user

    class OrderListFilter(serializers.Serializer):
        customer = serializers.EmailField(required=False)
        payment_mode = serializers.ChoiceField(choices=PaymentMode.choices, required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter("customer", str, description="Customer e-mail (staff)."),
            OpenApiParameter("payment_mode", str, enum=PaymentMode.values),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([order_row(order) for order in page])

    def get_queryset(self):
        params = self.OrderListFilter(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.order_list(
            user=self.request.user,
            customer_email=params.validated_data.get("customer", ""),
            payment_mode=params.validated_data.get("payment_mode", ""),
        )


class OrderDetail(APIView):
    @extend_schema(responses=OrderDetailOutput)
    def get(self, request, number):
        order = get_object_or_404(selectors.order_detail_queryset(request.user), number=number)
        return Response(OrderDetailOutput(order, context={"request": request}).data)


# --- Storefront ingest -------------------------------------------------------------------------


class StorefrontAPIView(APIView):
    authentication_classes = [StorefrontAuthentication]
    permission_classes = [IsStorefront]

    def _validated(self, serializer_class, request) -> dict:
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _render_order(self, order, *, created: bool, changed: bool) -> Response:
        order = selectors.order_with_detail(order)
        data = StorefrontOrderOutput(order, context={"created": created, "changed": changed}).data
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class StorefrontOrderUpsert(StorefrontAPIView):
    """PUT a whole order by number (R-ORD-3). The same body twice is stored once: the second answer
    is 200 with "changed": false. 201 when the order is new."""

    class StorefrontOrderInput(serializers.Serializer):
        class StorefrontCustomerInput(serializers.Serializer):
            email = serializers.EmailField(max_length=254)
            full_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
            phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
            region = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")

        class StorefrontLineInput(serializers.Serializer):
            line_no = serializers.IntegerField(min_value=1, max_value=32767)
            sku = serializers.CharField(max_length=64)
            quantity = serializers.IntegerField(min_value=1, max_value=100_000)
            unit_price = _money(min_value=0)
            discount = _money(min_value=0, required=False, default=ZERO)
            paid_amount = _money(min_value=0)
            gift_of_line_no = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)

        class StorefrontParcelInput(serializers.Serializer):
            carrier = serializers.CharField(max_length=64)
            tracking_number = serializers.CharField(max_length=64)
            shipped_at = MomentField(required=False, allow_null=True, default=None)
            signed_for_at = MomentField(required=False, allow_null=True, default=None)

        number = serializers.CharField(max_length=64, required=False)
        customer = StorefrontCustomerInput()
        payment_mode = serializers.ChoiceField(choices=PaymentMode.choices)
        is_b2b = serializers.BooleanField(required=False, default=False)
        currency = serializers.RegexField(r"^[A-Z]{3}$", max_length=3, required=False)
        placed_at = MomentField()
        paid_at = MomentField(required=False, allow_null=True, default=None)
        left_warehouse_at = MomentField(required=False, allow_null=True, default=None)
        signed_for_at = MomentField(required=False, allow_null=True, default=None)
        cancelled_at = MomentField(required=False, allow_null=True, default=None)
        shipping_address = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
        goods_total = _money(min_value=0)
        discount_total = _money(min_value=0, required=False, default=ZERO)
        shipping_fee = _money(min_value=0, required=False, default=ZERO)
        paid_total = _money(min_value=0)
        lines = StorefrontLineInput(many=True)
        parcels = StorefrontParcelInput(many=True, required=False, default=list)

        # Length checks here, not on the list fields, so the error is keyed "lines", not
        # "lines.non_field_errors".
        def validate_lines(self, value):
            if not 1 <= len(value) <= MAX_LINES:
                raise serializers.ValidationError(_("An order has 1 to %(max)d lines.") % {"max": MAX_LINES})
            return value

        def validate_parcels(self, value):
            if len(value) > MAX_PARCELS:
                raise serializers.ValidationError(_("An order has at most %(max)d parcels.") % {"max": MAX_PARCELS})
            return value

    @extend_schema(request=StorefrontOrderInput, responses={200: StorefrontOrderOutput, 201: StorefrontOrderOutput})
    def put(self, request, number):
        data = dict(self._validated(self.StorefrontOrderInput, request))
        if data.pop("number", number) != number:
            raise serializers.ValidationError({"number": [_("Does not match the order number in the URL.")]})
        data.setdefault("currency", settings.SHOP_CURRENCY)
        result = services.upsert_order(storefront=request.auth, number=number, **data)
        return self._render_order(result.order, created=result.created, changed=result.changed)


class StorefrontOrderMilestones(StorefrontAPIView):
    """R-ORD-2: the order left the warehouse, was signed for / picked up, or was cancelled.
    Idempotent; a signed-for time before the warehouse exit is refused."""

    class StorefrontMilestonesInput(serializers.Serializer):
        left_warehouse_at = MomentField(required=False, allow_null=True, default=None)
        signed_for_at = MomentField(required=False, allow_null=True, default=None)
        cancelled_at = MomentField(required=False, allow_null=True, default=None)

        def validate(self, attrs):
            if not any(attrs.values()):
                raise serializers.ValidationError(_("Give at least one milestone time."))
            return attrs

    @extend_schema(request=StorefrontMilestonesInput, responses=StorefrontOrderOutput)
    def post(self, request, number):
        data = self._validated(self.StorefrontMilestonesInput, request)
        order = selectors.storefront_order(storefront=request.auth, number=number)
        if order is None:
            raise Http404
        order, changed = services.set_milestones(order=order, **data)
        return self._render_order(order, created=False, changed=changed)


class ProductOutput(serializers.ModelSerializer):
    brand = serializers.CharField(source="brand.name")
    category = serializers.CharField(source="category.slug")

    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "model_code",
            "brand",
            "category",
            "price",
            "warranty_months",
            "is_sealed",
            "is_luxury",
            "is_electronics",
            "has_serial_number",
            "active",
            "updated_at",
        ]


class PriceChangeOutput(serializers.ModelSerializer):
    class Meta:
        model = PriceChange
        fields = ["price", "kind", "effective_at", "ends_at", "note", "recorded_at"]


class StorefrontProductUpsert(StorefrontAPIView):
    """PUT a product by SKU; a new price is recorded in the price history as a regular price."""

    class StorefrontProductInput(serializers.Serializer):
        sku = serializers.CharField(max_length=64, required=False)
        name = serializers.CharField(max_length=200)
        model_code = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
        brand = serializers.CharField(max_length=100)
        category = serializers.SlugField(max_length=100)
        price = _money(min_value=0)
        warranty_months = serializers.IntegerField(min_value=0, max_value=600, required=False, allow_null=True)
        is_sealed = serializers.BooleanField(required=False, default=False)
        is_luxury = serializers.BooleanField(required=False, default=False)
        is_electronics = serializers.BooleanField(required=False, default=False)
        has_serial_number = serializers.BooleanField(required=False, default=False)
        active = serializers.BooleanField(required=False, default=True)

    @extend_schema(request=StorefrontProductInput, responses={200: ProductOutput, 201: ProductOutput})
    def put(self, request, sku):
        data = dict(self._validated(self.StorefrontProductInput, request))
        if data.pop("sku", sku) != sku:
            raise serializers.ValidationError({"sku": [_("Does not match the SKU in the URL.")]})
        result = services.upsert_product(sku=sku, **data)
        product = selectors.product_by_sku(result.product.sku)
        return Response(
            ProductOutput(product).data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


class StorefrontPriceChanges(StorefrontAPIView):
    """A product's price history (R-ORD-3): GET lists it newest first, POST adds an entry (a regular
    price already in effect also becomes the product's price)."""

    class StorefrontPriceChangeInput(serializers.Serializer):
        price = _money(min_value=0)
        kind = serializers.ChoiceField(choices=PriceKind.choices)
        effective_at = MomentField()
        ends_at = MomentField(required=False, allow_null=True, default=None)
        note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def _product(self, sku):
        product = selectors.product_by_sku(sku)
        if product is None:
            raise Http404
        return product

    @extend_schema(responses=PriceChangeOutput(many=True))
    def get(self, request, sku):
        return Response(PriceChangeOutput(selectors.price_history(self._product(sku)), many=True).data)

    @extend_schema(request=StorefrontPriceChangeInput, responses={200: PriceChangeOutput, 201: PriceChangeOutput})
    def post(self, request, sku):
        data = self._validated(self.StorefrontPriceChangeInput, request)
        entry, created = services.record_price_change(product=self._product(sku), **data)
        return Response(
            PriceChangeOutput(entry).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
