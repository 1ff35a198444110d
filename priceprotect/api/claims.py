"""The one-click claim (R-PP-1 … R-PP-5), your claims, and an agent's decision on a claim that looked
like a pricing error (R-PP-7)."""

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.accounts.security import limit_customer
from aftersales.common.api import ID_MAX, valid
from aftersales.orders.selectors import orders_visible_to

from .. import overview, services
from .base import TEXT_MAX, PriceProtectionClaimOutput, claim_case, render_claim

CLAIM_DESCRIPTION = """Claim every price drop of your order at once, with one click (DOMAIN §4): 201 with the
claim, compensated at once (a coupon by default; the order repriced while a COD or pickup order is still
in the warehouse, R-PP-3), approved and waiting for finance, or submitted for an agent when a drop looks
like a pricing error (R-PP-7). Refusals are 400 with the `rule`: R-PP-1 (no drop), R-PP-2 (outside the
window), R-PP-4 (promotion prices, gifts, B2B), R-PP-5 (the order already has its claim), R-PP-6
(cancelled or returned); another customer's order is a 404."""


class PriceProtectionClaimFilter(django_filters.FilterSet):
    status = django_filters.CharFilter(field_name="case__status", help_text="e.g. submitted: waiting for review.")
    order = django_filters.CharFilter(field_name="order__number", help_text="An order number.")


class Claims(generics.ListAPIView):
    """Your price-protection claims, and the one-click claim."""

    serializer_class = PriceProtectionClaimOutput
    filterset_class = PriceProtectionClaimFilter

    class PriceProtectionClaimInput(serializers.Serializer):
        order = serializers.CharField(max_length=64, help_text="The order number.")

    def get_queryset(self):
        return overview.claims_visible_to(self.request.user).prefetch_related(
            "lines__order_line__product", "revocations__return_case"
        )

    @extend_schema(
        description="Your price-protection claims, newest first; staff who work on cases see everyone's "
        "(`?status=submitted`: those waiting for an agent, R-PP-7)."
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=PriceProtectionClaimInput,
        responses={201: PriceProtectionClaimOutput},
        description=CLAIM_DESCRIPTION,
    )
    def post(self, request):
        data = valid(self.PriceProtectionClaimInput, request.data)
        order = get_object_or_404(orders_visible_to(request.user), number=data["order"])
        limit_customer(request, "claim")
        case = services.file_claim(order=order, actor=request.user)
        return Response(render_claim(request, case), status=status.HTTP_201_CREATED)


class ClaimDetail(APIView):
    """The claim: its status, lines, how it is paid (R-PP-3), what was taken back (R-PP-6), and the
    review steps the requesting user may take now (`available_actions`)."""

    @extend_schema(responses=PriceProtectionClaimOutput)
    def get(self, request, number):
        return Response(render_claim(request, claim_case(request, number)))


def _version(case, version):
    """Act on the case as the caller saw it: if it moved since, the transition is a 409."""
    if version is not None:
        case.version = version
    return case


class ClaimApprove(APIView):
    """Staff (priceprotect.review_claim): the drop is a real price cut, not a pricing error; the claim
    is paid (R-PP-7). 409 if it is no longer waiting for review, or changed since `version`."""

    class PriceProtectionApproveInput(serializers.Serializer):
        note = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")
        version = serializers.IntegerField(min_value=1, max_value=ID_MAX, required=False, allow_null=True, default=None)

    @extend_schema(request=PriceProtectionApproveInput, responses=PriceProtectionClaimOutput)
    def post(self, request, number):
        case = claim_case(request, number)
        data = valid(self.PriceProtectionApproveInput, request.data)
        case = services.approve(case=_version(case, data["version"]), actor=request.user, note=data["note"])
        return Response(render_claim(request, case))


class ClaimReject(APIView):
    """Staff (priceprotect.review_claim): reject a claim waiting for review, with the reason the
    customer reads (R-PP-7). 409 if it is no longer waiting for review, or changed since `version`."""

    class PriceProtectionRejectInput(serializers.Serializer):
        reason = serializers.CharField(max_length=TEXT_MAX)
        version = serializers.IntegerField(min_value=1, max_value=ID_MAX, required=False, allow_null=True, default=None)

    @extend_schema(request=PriceProtectionRejectInput, responses=PriceProtectionClaimOutput)
    def post(self, request, number):
        case = claim_case(request, number)
        data = valid(self.PriceProtectionRejectInput, request.data)
        case = services.reject(case=_version(case, data["version"]), actor=request.user, reason_text=data["reason"])
        return Response(render_claim(request, case))
