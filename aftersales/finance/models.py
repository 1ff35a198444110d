"""Refunds: every money movement back to a customer is a row first (R-FIN-1).

This is the minimal outbox the returns flow needs; the finance queue (approvals, gateways, ledger,
reconciliation) builds on it."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Refund(models.Model):
    class Source(models.TextChoices):
        RETURN = "return", _("Return")
        REFUND_ONLY = "refund_only", _("Refund only")
        EXCHANGE_DIFFERENCE = "exchange_difference", _("Exchange price difference")
        PRICE_PROTECTION = "price_protection", _("Price protection")
        WARRANTY = "warranty", _("Warranty")
        GOODWILL = "goodwill", _("Goodwill")

    class State(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", _("Pending approval")
        APPROVED = "approved", _("Approved")
        PROCESSING = "processing", _("Processing")
        SUCCEEDED = "succeeded", _("Paid")
        FAILED = "failed", _("Failed")
        REJECTED = "rejected", _("Rejected")
        HELD = "held", _("On hold")

    order = models.ForeignKey("orders.Order", models.PROTECT, related_name="refunds", verbose_name=_("order"))
    case = models.ForeignKey(
        "cases.Case", models.PROTECT, null=True, blank=True, related_name="refunds", verbose_name=_("case")
    )
    source = models.CharField(_("source"), max_length=24, choices=Source.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.PENDING_APPROVAL)
    # The same request made twice (a retried task, a double click) finds this row instead of a new one.
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="finance_refund_amount_positive")]

    def __str__(self):
        return f"{self.order_id}: {self.amount} ({self.get_state_display()})"
