"""What the price-protection endpoints share: money fields, parsing, and the claim as rendered."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aftersales.cases import services as case_services
from aftersales.cases import workflow as case_workflow
from aftersales.cases.models import Case
from aftersales.common.errors import NotAllowed
from aftersales.finance import ledger

from .. import overview
from ..models import MONEY

TEXT_MAX = 2000


def money(**kwargs):
    return serializers.DecimalField(**MONEY, **kwargs)


def percent(**kwargs):
    return serializers.DecimalField(max_digits=6, decimal_places=2, **kwargs)


class PriceProtectionRefusalOutput(serializers.Serializer):
    rule = serializers.CharField(help_text="The DOMAIN.md rule, e.g. R-PP-2.")
    message = serializers.CharField()


class PriceProtectionClaimLineOutput(serializers.Serializer):
    line_id = serializers.IntegerField(source="order_line_id")
    line_no = serializers.IntegerField(source="order_line.line_no")
    sku = serializers.CharField(source="order_line.product.sku")
    product_name = serializers.CharField(source="order_line.product_name")
    units = serializers.IntegerField()
    paid_unit_price = money()
    basis_price = money(help_text="The regular price the claim was based on (R-PP-4).")
    amount = money()
    drop_percent = percent()
    revoked_units = serializers.IntegerField()
    revoked_amount = money()


class PriceProtectionRevocationOutput(serializers.Serializer):
    """R-PP-6: compensation taken back, and how it was recovered."""

    cause = serializers.CharField()
    cause_label = serializers.CharField(source="get_cause_display")
    return_case = serializers.CharField(source="return_case.number", allow_null=True, default=None)
    amount = money()
    by_cancelling_coupon = money()
    deducted_from_refund = money()
    taken_from_account = money()
    not_paid_out = money()
    unrecovered = money()
    created_at = serializers.DateTimeField()


class PriceProtectionCouponOutput(serializers.Serializer):
    code = serializers.CharField()
    amount = money()
    state = serializers.SerializerMethodField(help_text="issued, used, cancelled or expired.")
    expires_at = serializers.DateTimeField()

    def get_state(self, coupon) -> str:
        return ledger.coupon_state(coupon)


class PriceProtectionLinksOutput(serializers.Serializer):
    case = serializers.CharField(help_text="The case's timeline, attachments and notes.")
    order = serializers.CharField(help_text="The order's price protection.")
    portal = serializers.CharField()


class PriceProtectionClaimOutput(serializers.Serializer):
    number = serializers.CharField(source="case.number")
    version = serializers.IntegerField(
        source="case.version", help_text="Send it back with approve or reject: a claim changed since is a 409."
    )
    status = serializers.CharField(source="case.status")
    status_label = serializers.CharField(source="case.get_status_display")
    order = serializers.CharField(source="order.number")
    opened_at = serializers.DateTimeField(source="case.opened_at")
    closed_at = serializers.DateTimeField(source="case.closed_at", allow_null=True)
    automatic = serializers.BooleanField(help_text="Filed by the price-drop sweep for the customer.")
    mode = serializers.CharField(help_text="R-PP-3: credit (to the account) or reprice (the order).")
    mode_label = serializers.CharField(source="get_mode_display")
    destination = serializers.CharField(help_text="Where a credit goes: coupon, balance, points …; empty if repriced.")
    destination_label = serializers.CharField(source="get_destination_display")
    amount = money()
    revoked_amount = money(help_text="R-PP-6: taken back because goods came back or the order was refused.")
    suspected_pricing_error = serializers.BooleanField(help_text="R-PP-7: an agent decides before it is paid.")
    largest_drop_percent = percent()
    decided_at = serializers.DateTimeField(allow_null=True)
    compensated_at = serializers.DateTimeField(allow_null=True)
    paid_as = serializers.SerializerMethodField()
    coupon = PriceProtectionCouponOutput(allow_null=True)
    refund_state = serializers.CharField(source="refund.state", allow_null=True, default=None)
    lines = PriceProtectionClaimLineOutput(many=True)
    revocations = PriceProtectionRevocationOutput(many=True)
    available_actions = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    def get_paid_as(self, claim) -> str:
        return overview.paid_as(claim)

    def get_available_actions(self, claim) -> list[str]:
        """The review steps the requesting user may take now: approve and reject (R-PP-7)."""
        user = self.context["request"].user
        flow = case_workflow.get(claim.case.kind)
        actions = []
        for name in ("approve", "reject"):
            transition = flow.transitions[name]
            if claim.case.status not in transition.sources:
                continue
            try:
                case_services.check_allowed(case=claim.case, transition=transition, actor=user)
            except NotAllowed:
                continue
            actions.append(name)
        return actions

    @extend_schema_field(PriceProtectionLinksOutput)
    def get_links(self, claim) -> dict:
        return {
            "case": reverse("api-case-detail", args=[claim.case.number]),
            "order": reverse("api-priceprotect-order", args=[claim.order.number]),
            "portal": reverse("priceprotect:order", args=[claim.order.number]),
        }


def claim_case(request, number) -> Case:
    """A price-protection case the user may see (their own, or any for case staff); else a 404."""
    return get_object_or_404(overview.claim_cases_visible_to(request.user), number=number)


def render_claim(request, case: Case):
    return PriceProtectionClaimOutput(overview.claim_detail(case), context={"request": request}).data
