"""R-WAR-1 / R-WAR-2 / R-WAR-8: coverage per order line, and registering serial numbers."""

from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.common.api import valid
from aftersales.common.errors import NotAllowed, ValidationFailed
from aftersales.orders.authentication import IsStorefront, StorefrontAuthentication
from aftersales.orders.selectors import orders_visible_to

from .. import selectors, services
from ..models import Unit


class WarrantyCoverageOutput(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    base_ends_at = serializers.DateTimeField()
    extension_days = serializers.IntegerField(help_text="R-WAR-8: days in repair added to the warranty.")
    ends_at = serializers.DateTimeField()


class WarrantyRemedyOutput(serializers.Serializer):
    remedy = serializers.CharField()
    open_until = serializers.DateTimeField()
    rule = serializers.CharField()


class WarrantyRefusalOutput(serializers.Serializer):
    rule = serializers.CharField()
    message = serializers.CharField()


class WarrantyUnitOutput(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["id", "serial_number", "source", "registered_at"]


class WarrantyCoveredUnitOutput(serializers.Serializer):
    id = serializers.IntegerField(source="unit.pk")
    serial_number = serializers.CharField(source="unit.serial_number")
    source = serializers.CharField(source="unit.source")
    registered_at = serializers.DateTimeField(source="unit.registered_at")
    coverage = WarrantyCoverageOutput(allow_null=True, help_text="This unit's own (R-WAR-8: its days in repair).")


class WarrantyAccessoryOfferOutput(serializers.Serializer):
    id = serializers.IntegerField(source="accessory.pk")
    name = serializers.CharField(source="accessory.name")
    wearing_part = serializers.BooleanField(source="accessory.wearing_part")
    catalogue_price = serializers.DecimalField(source="accessory.price", max_digits=12, decimal_places=2)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="What asking for it costs today (R-WAR-6; 0.00: free)."
    )
    reason = serializers.CharField()


class WarrantyLineOutput(serializers.Serializer):
    line_id = serializers.IntegerField(source="line.pk")
    line_no = serializers.IntegerField(source="line.line_no")
    sku = serializers.CharField(source="line.product.sku")
    product_name = serializers.CharField(source="line.product_name")
    quantity = serializers.IntegerField(source="line.quantity")
    is_gift = serializers.BooleanField(source="line.is_gift")
    warranty_months = serializers.IntegerField(source="line.product.effective_warranty_months")
    coverage = WarrantyCoverageOutput(
        allow_null=True, help_text="Null until the order is signed for; for a unit claimed without its serial."
    )
    units = WarrantyCoveredUnitOutput(many=True)
    remedies = WarrantyRemedyOutput(
        source="verdict.remedies", many=True, help_text="What a performance fault opens today (R-WAR-2, R-WAR-9)."
    )
    refusal = WarrantyRefusalOutput(source="verdict.refusal", allow_null=True)
    accessories = WarrantyAccessoryOfferOutput(
        many=True, help_text="R-WAR-6: the accessories a claim may ask for instead of a repair (remedy accessory)."
    )


class WarrantyOrderCoverageOutput(serializers.Serializer):
    order = serializers.CharField()
    lines = WarrantyLineOutput(many=True)


class OrderCoverage(APIView):
    """R-WAR-1: each line's warranty (extended by days in repair, R-WAR-8), its registered units, the
    remedies a performance fault opens today (R-WAR-2) or the rule that refuses one, and the accessories
    a claim may ask for instead of a repair, each at today's price (R-WAR-6)."""

    @extend_schema(responses=WarrantyOrderCoverageOutput)
    def get(self, request, number):
        order = get_object_or_404(orders_visible_to(request.user), number=number)
        rows = selectors.line_coverages(selectors.order_lines(order), remedies=True)
        return Response(WarrantyOrderCoverageOutput({"order": order.number, "lines": rows}).data)


class LineUnits(APIView):
    """R-WAR-1: register a unit's serial number on an order line: the customer on their own orders,
    staff who work on cases on any. 201 when new, 200 when the serial was already registered."""

    class WarrantyUnitInput(serializers.Serializer):
        serial_number = serializers.CharField(max_length=200)

    @extend_schema(request=WarrantyUnitInput, responses={200: WarrantyUnitOutput, 201: WarrantyUnitOutput})
    def post(self, request, number, line_id):
        order = get_object_or_404(orders_visible_to(request.user), number=number)
        line = get_object_or_404(order.lines.select_related("order"), pk=line_id)
        staff = request.user.is_staff
        # Permission before validation: staff who may not register units learn nothing from field errors.
        if staff and not request.user.has_perm("cases.change_case"):
            raise NotAllowed()
        data = valid(self.WarrantyUnitInput, request.data)
        before = set(line.units.values_list("pk", flat=True))
        unit = services.register_unit(
            line=line,
            serial_number=data["serial_number"],
            source=Unit.Source.STAFF if staff else Unit.Source.CUSTOMER,
            customer=None if staff else request.user,
        )
        created = unit.pk not in before
        return Response(
            WarrantyUnitOutput(unit).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class StorefrontUnits(APIView):
    """R-WAR-1: the storefront registers the serial numbers it shipped on a line of one of its own
    orders (any other order is a 404). Idempotent: serials already there are kept, not doubled; all or
    nothing, so a refused serial (its index in the field name) registers none. 201 when any is new."""

    authentication_classes = [StorefrontAuthentication]
    permission_classes = [IsStorefront]

    class StorefrontUnitsInput(serializers.Serializer):
        order_number = serializers.CharField(max_length=64)
        line_no = serializers.IntegerField(min_value=1, max_value=32767)
        serial_numbers = serializers.ListField(
            child=serializers.CharField(max_length=200), min_length=1, max_length=1000
        )

    class StorefrontUnitsOutput(serializers.Serializer):
        order_number = serializers.CharField()
        line_no = serializers.IntegerField()
        created = serializers.IntegerField(help_text="How many units were new.")
        units = WarrantyUnitOutput(many=True)

    @extend_schema(request=StorefrontUnitsInput, responses={200: StorefrontUnitsOutput, 201: StorefrontUnitsOutput})
    def post(self, request):
        data = valid(self.StorefrontUnitsInput, request.data)
        line = selectors.storefront_line(
            storefront=request.auth, order_number=data["order_number"], line_no=data["line_no"]
        )
        if line is None:
            raise Http404
        before = set(line.units.values_list("pk", flat=True))
        units = {}
        with transaction.atomic():
            for index, serial in enumerate(data["serial_numbers"]):
                try:
                    unit = services.register_unit(line=line, serial_number=serial, source=Unit.Source.STOREFRONT)
                except ValidationFailed as exc:
                    messages = [m for msgs in exc.fields.values() for m in msgs] or [exc.message]
                    raise ValidationFailed(exc.message, fields={f"serial_numbers.{index}": messages}) from None
                units[unit.pk] = unit
        created = len(set(units) - before)
        body = {"order_number": line.order.number, "line_no": line.line_no, "created": created}
        body["units"] = list(units.values())
        return Response(
            self.StorefrontUnitsOutput(body).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
