"""Return requests (the detail row of a returns case), their lines, and the shop-level settings."""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.common.settings_rows import SettingsRow

from .policy import Payer, Reason


class ReturnSettings(SettingsRow):
    """The shop's return policy knobs: one row, edited by staff in the dashboard (no deploy)."""

    auto_approve_limit = models.DecimalField(
        _("auto-approve up to"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("500.00"),
        help_text=_("Requests that pass every rule and refund at most this much are approved at once (R-RET-15)."),
    )
    ship_deadline_days = models.PositiveSmallIntegerField(
        _("days to ship after approval"), default=7, help_text=_("R-RET-10")
    )
    inspection_business_days = models.PositiveSmallIntegerField(
        _("business days to inspect a received parcel"), default=5, help_text=_("R-RET-10")
    )
    free_returns_per_year = models.PositiveSmallIntegerField(
        _("free no-reason returns per customer and year"),
        default=2,
        help_text=_("Return shipping the shop pays for no-reason returns (R-RET-12)."),
    )
    receipt_confirm_days = models.PositiveSmallIntegerField(
        _("days before a shipped replacement counts as received"),
        default=10,
        help_text=_(
            "An exchange or reissue completes this many days after the replacement ships, unless the customer "
            "confirms receipt earlier."
        ),
    )

    class Meta:
        verbose_name = _("return settings")
        verbose_name_plural = _("return settings")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="returns_settings_single_row"),
            models.CheckConstraint(condition=Q(auto_approve_limit__gte=0), name="returns_settings_limit_non_negative"),
        ]

    def __str__(self):
        return str(_("Return settings"))


class ReturnRequest(models.Model):
    """The returns detail of a return / exchange / reissue / refund-only case (its status lives on
    the Case). What the customer asked for, what the policy said, and what the shop found."""

    case = models.OneToOneField(
        "cases.Case", models.CASCADE, primary_key=True, related_name="return_request", verbose_name=_("case")
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    description = models.TextField(_("description"), blank=True)
    condition = models.JSONField(_("declared condition"), default=dict, blank=True)
    exchange_product = models.ForeignKey(
        "orders.Product", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("exchange for")
    )
    return_shipping_paid_by = models.CharField(_("return shipping paid by"), max_length=10, choices=Payer.choices)
    refund_estimate = models.DecimalField(_("refund estimate"), max_digits=12, decimal_places=2)
    auto_approved = models.BooleanField(_("approved automatically"), default=False)
    report = models.ForeignKey(
        "cases.Attachment",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("service-centre inspection report"),
    )
    report_valid_until = models.DateField(_("inspection report valid until"), null=True, blank=True)
    # R-RET-5: the price difference of an exchange for another variant. The customer owes
    # `amount_due` (paid before the replacement ships); a difference in the customer's favour is
    # the request's refund estimate instead.
    amount_due = models.DecimalField(_("amount due from the customer"), max_digits=12, decimal_places=2, default=0)
    amount_due_paid_at = models.DateTimeField(_("amount due paid"), null=True, blank=True)
    ship_by = models.DateTimeField(_("ship by"), null=True, blank=True)
    carrier = models.CharField(_("carrier"), max_length=64, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    shipped_at = models.DateTimeField(_("shipped by the customer"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    inspection_notes = models.TextField(_("inspection notes"), blank=True)
    deductions = models.DecimalField(_("deductions"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    # The shop's parcel to the customer: the replacement (exchange, reissue) or the goods sent back
    # after a failed inspection (R-RET-11).
    outbound_carrier = models.CharField(_("carrier to the customer"), max_length=64, blank=True)
    outbound_tracking_number = models.CharField(_("tracking number to the customer"), max_length=64, blank=True)
    outbound_shipped_at = models.DateTimeField(_("shipped to the customer"), null=True, blank=True)

    class Meta:
        verbose_name = _("return request")
        verbose_name_plural = _("return requests")
        constraints = [
            models.CheckConstraint(
                condition=Q(refund_estimate__gte=0) & Q(deductions__gte=0), name="returns_request_amounts_non_negative"
            ),
            # A difference is owed one way or the other, never both.
            models.CheckConstraint(
                condition=Q(amount_due=0) | (Q(amount_due__gt=0) & Q(refund_estimate=0)),
                name="returns_request_amount_due_one_way",
            ),
        ]

    def __str__(self):
        return f"{self.case.number}: {self.get_reason_display()}"


class ReturnLine(models.Model):
    """Which units of which order line a request covers (R-RET-13: any subset of lines and units)."""

    request = models.ForeignKey(ReturnRequest, models.CASCADE, related_name="lines", verbose_name=_("request"))
    order_line = models.ForeignKey(
        "orders.OrderLine", models.PROTECT, related_name="return_lines", verbose_name=_("order line")
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("returned line")
        verbose_name_plural = _("returned lines")
        constraints = [
            models.UniqueConstraint(fields=["request", "order_line"], name="returns_line_once_per_request"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="returns_line_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.order_line} ×{self.quantity}"
