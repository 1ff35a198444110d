"""Price-protection data (DOMAIN §4): the shop's knobs, claims (the detail row of a price-protection
case) with the lines they pay for, revocations when goods come back, and the price-drop offers the
sweep sends. Statuses live on the Case; decisions live in `priceprotect.policy` and `.services`."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _

from aftersales.common.settings_rows import SettingsRow

from .policy import Mode

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


class Destination(models.TextChoices):
    """Where a credited compensation goes (R-PP-3): the finance refund destinations that suit it."""

    COUPON = "coupon", _("Coupon")
    BALANCE = "balance", _("Store balance")
    POINTS = "points", _("Points")
    ORIGINAL_PAYMENT = "original_payment", _("Original payment method")


class PriceProtectionSettings(SettingsRow):
    """The shop's price-protection knobs: one row, edited by staff in the dashboard (no deploy). The
    window length is per category (`Category.price_protection_days`)."""

    destination = models.CharField(
        _("compensation is paid as"),
        max_length=20,
        choices=Destination.choices,
        default=Destination.COUPON,
        help_text=_("R-PP-3: for prepaid orders and COD orders that left the warehouse."),
    )
    review_drop_above_percent = models.DecimalField(
        _("send to an agent when a price dropped by more than (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("50.00"),
        help_text=_("R-PP-7: such a drop may be a pricing error; claims below it are approved at once."),
    )
    notify_on_price_drop = models.BooleanField(
        _("tell customers when a price drops"),
        default=True,
        help_text=_("The sweep sends every order still in its window a one-click claim link."),
    )
    claim_automatically = models.BooleanField(
        _("claim for customers automatically"),
        default=False,
        help_text=_("The sweep files the claim itself instead of sending a link."),
    )

    class Meta:
        verbose_name = _("price-protection settings")
        verbose_name_plural = _("price-protection settings")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="priceprotect_settings_single_row"),
            models.CheckConstraint(
                condition=Q(review_drop_above_percent__gt=0) & Q(review_drop_above_percent__lte=100),
                name="priceprotect_settings_review_percent_range",
                violation_error_message=_("The review percentage is more than 0 and at most 100."),
            ),
        ]

    def __str__(self):
        return str(_("Price-protection settings"))


class Claim(models.Model):
    """One price-protection claim: what each line gets, how it is paid, and what was taken back."""

    case = models.OneToOneField(
        "cases.Case", models.CASCADE, primary_key=True, related_name="price_claim", verbose_name=_("case")
    )
    order = models.ForeignKey("orders.Order", models.PROTECT, related_name="price_claims", verbose_name=_("order"))
    mode = models.CharField(_("compensation"), max_length=10, choices=Mode.choices)
    destination = models.CharField(_("paid as"), max_length=20, choices=Destination.choices, blank=True)
    amount = models.DecimalField(_("compensation"), **MONEY)
    revoked_amount = models.DecimalField(_("revoked"), default=ZERO, **MONEY)
    suspected_pricing_error = models.BooleanField(_("suspected pricing error"), default=False)
    largest_drop_percent = models.DecimalField(_("largest drop (%)"), max_digits=6, decimal_places=2)
    automatic = models.BooleanField(_("filed by the price-drop sweep"), default=False)
    refund = models.OneToOneField(
        "finance.Refund", models.PROTECT, null=True, blank=True, related_name="price_claim", verbose_name=_("refund")
    )
    # The coupon the compensation is held in now (a partial revocation replaces it with a smaller one).
    coupon = models.ForeignKey(
        "finance.Coupon", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("coupon")
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("decided by")
    )
    compensated_at = models.DateTimeField(_("compensated"), null=True, blank=True)

    class Meta:
        verbose_name = _("price-protection claim")
        verbose_name_plural = _("price-protection claims")
        permissions = [("review_claim", _("Can approve or reject price-protection claims"))]
        constraints = [
            # R-PP-5: one claim per order, whatever races.
            models.UniqueConstraint(fields=["order"], name="priceprotect_one_claim_per_order"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="priceprotect_claim_amount_positive"),
            models.CheckConstraint(
                condition=Q(revoked_amount__gte=0) & Q(revoked_amount__lte=F("amount")),
                name="priceprotect_claim_revoked_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(mode=Mode.REPRICE, destination="") | Q(mode=Mode.CREDIT) & ~Q(destination=""),
                name="priceprotect_claim_credit_has_destination",
            ),
        ]

    def __str__(self):
        return f"{self.case.number} {self.amount}"


class ClaimLine(models.Model):
    """R-PP-1 for one order line: (paid unit price − basis) × units, with the price entry used as basis."""

    claim = models.ForeignKey(Claim, models.CASCADE, related_name="lines", verbose_name=_("claim"))
    order_line = models.ForeignKey(
        "orders.OrderLine", models.PROTECT, related_name="price_claim_lines", verbose_name=_("line")
    )
    units = models.PositiveIntegerField(_("units"))
    paid_unit_price = models.DecimalField(_("paid per unit"), **MONEY)
    basis_price = models.DecimalField(_("price basis"), **MONEY)
    basis = models.ForeignKey(
        "orders.PriceChange", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("price entry")
    )
    amount = models.DecimalField(_("compensation"), **MONEY)
    drop_percent = models.DecimalField(_("drop (%)"), max_digits=6, decimal_places=2)
    revoked_units = models.PositiveIntegerField(_("units revoked"), default=0)
    revoked_amount = models.DecimalField(_("revoked"), default=ZERO, **MONEY)

    class Meta:
        verbose_name = _("claim line")
        verbose_name_plural = _("claim lines")
        ordering = ["claim", "order_line"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "order_line"], name="priceprotect_line_once_per_claim"),
            models.CheckConstraint(condition=Q(units__gt=0), name="priceprotect_line_units_positive"),
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(basis_price__gte=0) & Q(basis_price__lt=F("paid_unit_price")),
                name="priceprotect_line_price_dropped",
            ),
            models.CheckConstraint(
                condition=Q(revoked_units__lte=F("units"))
                & Q(revoked_amount__gte=0)
                & Q(revoked_amount__lte=F("amount")),
                name="priceprotect_line_revoked_within",
            ),
        ]

    def __str__(self):
        return f"{self.order_line} {self.amount}"


class Revocation(models.Model):
    """R-PP-6: compensation taken back because units came back (a return or refund-only case) or the
    order was refused. Split by how it was recovered; one row per claim and cause (idempotency)."""

    class Cause(models.TextChoices):
        RETURN = "return", _("Goods returned")
        ORDER_CANCELLED = "order_cancelled", _("Order refused or cancelled")

    claim = models.ForeignKey(Claim, models.CASCADE, related_name="revocations", verbose_name=_("claim"))
    cause = models.CharField(_("cause"), max_length=20, choices=Cause.choices)
    return_case = models.ForeignKey(
        "cases.Case", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("return case")
    )
    amount = models.DecimalField(_("revoked"), **MONEY)
    by_cancelling_coupon = models.DecimalField(_("recovered by cancelling the coupon"), default=ZERO, **MONEY)
    deducted_from_refund = models.DecimalField(_("deducted from the return's refund"), default=ZERO, **MONEY)
    taken_from_account = models.DecimalField(_("taken from the store balance or points"), default=ZERO, **MONEY)
    # Compensation never paid out (the claim was still waiting): nothing to recover.
    not_paid_out = models.DecimalField(_("not paid out yet"), default=ZERO, **MONEY)
    unrecovered = models.DecimalField(_("left to recover by hand"), default=ZERO, **MONEY)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("revocation")
        verbose_name_plural = _("revocations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "return_case"],
                condition=Q(return_case__isnull=False),
                name="priceprotect_revoke_once_per_case",
            ),
            models.UniqueConstraint(
                fields=["claim"], condition=Q(cause="order_cancelled"), name="priceprotect_revoke_once_per_cancel"
            ),
            models.CheckConstraint(
                condition=Q(cause="return", return_case__isnull=False)
                | Q(cause="order_cancelled", return_case__isnull=True),
                name="priceprotect_revoke_cause_matches_case",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0)
                & Q(by_cancelling_coupon__gte=0)
                & Q(deducted_from_refund__gte=0)
                & Q(taken_from_account__gte=0)
                & Q(not_paid_out__gte=0)
                & Q(unrecovered__gte=0),
                name="priceprotect_revoke_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    amount=Round(
                        F("by_cancelling_coupon")
                        + F("deducted_from_refund")
                        + F("taken_from_account")
                        + F("not_paid_out")
                        + F("unrecovered"),
                        2,
                    )
                ),
                name="priceprotect_revoke_parts_add_up",
            ),
        ]

    def __str__(self):
        return f"{self.claim_id} −{self.amount}"


class PriceDropOffer(models.Model):
    """The sweep told this order's customer that a claim would now yield `amount` (one row per order
    and price entry, so a re-run sweep never tells anyone twice)."""

    order = models.ForeignKey("orders.Order", models.CASCADE, related_name="price_drop_offers", verbose_name=_("order"))
    price_change = models.ForeignKey(
        "orders.PriceChange", models.CASCADE, related_name="offers", verbose_name=_("price entry")
    )
    amount = models.DecimalField(_("a claim would yield"), **MONEY)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        verbose_name = _("price-drop offer")
        verbose_name_plural = _("price-drop offers")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["order", "price_change"], name="priceprotect_offer_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="priceprotect_offer_amount_positive"),
        ]

    def __str__(self):
        return f"{self.order_id} {self.amount}"
