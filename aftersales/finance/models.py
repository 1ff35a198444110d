"""Refunds: every money movement back to a customer is a row first (R-FIN-1), approved by the right
people (R-FIN-3) and paid by workers (R-FIN-4); every change of state is an event (the audit trail).
State changes go through `aftersales.finance.services` only. Below the refund: the ledger of the
internal destinations (R-FIN-2), store balance, points and coupons, written only by `finance.ledger`."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.common.settings_rows import SettingsRow


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
        RESOLVED = "resolved", _("Resolved by hand")

    class Destination(models.TextChoices):
        """R-FIN-2: where the money goes."""

        ORIGINAL_PAYMENT = "original_payment", _("Original payment method")
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        BALANCE = "balance", _("Store balance")
        COUPON = "coupon", _("Coupon")
        POINTS = "points", _("Points")

    # Paid by our own ledger at once rather than by a payment provider.
    INTERNAL_DESTINATIONS = frozenset({Destination.BALANCE, Destination.COUPON, Destination.POINTS})

    order = models.ForeignKey("orders.Order", models.PROTECT, related_name="refunds", verbose_name=_("order"))
    case = models.ForeignKey(
        "cases.Case", models.PROTECT, null=True, blank=True, related_name="refunds", verbose_name=_("case")
    )
    source = models.CharField(_("source"), max_length=24, choices=Source.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.PENDING_APPROVAL, db_index=True
    )
    destination = models.CharField(
        _("destination"), max_length=20, choices=Destination.choices, default=Destination.ORIGINAL_PAYMENT
    )
    # COD refunds go to an account the customer gives (R-FIN-2).
    bank_account_name = models.CharField(_("account holder"), max_length=100, blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    bank_account_number = models.CharField(_("account number"), max_length=40, blank=True)
    approvals_required = models.PositiveSmallIntegerField(_("approvals required"), default=1)
    reason = models.TextField(_("reason (rejection, hold, manual resolution)"), blank=True)
    gateway_reference = models.CharField(_("gateway reference"), max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(_("payment attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    # Taken back after payment (R-PP-6: a price-protection coupon cancelled because the goods came
    # back): the part that no longer counts against the order's paid total.
    revoked_amount = models.DecimalField(_("revoked"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
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
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at"]
        permissions = [("approve_refund", _("Can approve, hold, reject and resolve refunds"))]
        # The refund queue, newest first: all of it, or by state (bench/explain.py).
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="finance_refund_recent"),
            models.Index(fields=["state", "-created_at"], name="finance_refund_queue"),
            # The queue's totals by state, read off the index alone (an index-only scan).
            models.Index(fields=["state", "amount"], name="finance_refund_state_totals"),
        ]
        # The cap across rows (R-RET-13: an order's non-rejected refunds ≤ its paid_total) is no CHECK
        # constraint but triggers (migration 0005_refund_revoked_amount); they count amount − revoked_amount.
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="finance_refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(revoked_amount__gte=0) & Q(revoked_amount__lte=F("amount")),
                name="finance_refund_revoked_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(approvals_required__gte=1) & Q(approvals_required__lte=2),
                name="finance_refund_one_or_two_approvals",
            ),
            # A bank transfer needs the account it goes to.
            models.CheckConstraint(
                condition=~Q(destination="bank_transfer") | (~Q(bank_account_name="") & ~Q(bank_account_number="")),
                name="finance_refund_bank_transfer_has_account",
            ),
            models.CheckConstraint(
                condition=Q(paid_at__isnull=True) | Q(state__in=["succeeded", "resolved"]),
                name="finance_refund_paid_only_when_paid",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.amount} ({self.get_state_display()})"

    @property
    def is_internal(self) -> bool:
        return self.destination in self.INTERNAL_DESTINATIONS


class RefundApproval(models.Model):
    """One finance approver's yes (R-FIN-3). A refund above the threshold needs two different people."""

    refund = models.ForeignKey(Refund, models.CASCADE, related_name="approvals", verbose_name=_("refund"))
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("approver"))
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("refund approval")
        verbose_name_plural = _("refund approvals")
        constraints = [models.UniqueConstraint(fields=["refund", "approver"], name="finance_approval_once_per_person")]

    def __str__(self):
        return f"#{self.refund_id}"


class RefundEvent(models.Model):
    """The audit trail: who moved a refund, when, from what to what, and why. Append-only."""

    refund = models.ForeignKey(Refund, models.CASCADE, related_name="events", verbose_name=_("refund"))
    at = models.DateTimeField(_("at"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    action = models.CharField(_("action"), max_length=30)
    from_state = models.CharField(_("from"), max_length=20, blank=True)
    to_state = models.CharField(_("to"), max_length=20, blank=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("refund event")
        verbose_name_plural = _("refund events")
        ordering = ["at", "id"]

    def __str__(self):
        return f"#{self.refund_id} {self.action}"


class RefundSettings(SettingsRow):
    """Finance's knobs (R-FIN-3): one row, edited in the dashboard without a deploy."""

    second_approval_above = models.DecimalField(
        _("second approver needed above"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("2000.00"),
        help_text=_("Refunds above this amount need a second, different finance approver."),
    )
    auto_approve_internal_up_to = models.DecimalField(
        _("auto-approve internal refunds up to"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("200.00"),
        help_text=_("Refunds to store balance, coupon or points up to this amount are approved at once."),
    )

    class Meta:
        verbose_name = _("refund settings")
        verbose_name_plural = _("refund settings")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="finance_refund_settings_single_row"),
            models.CheckConstraint(
                condition=Q(second_approval_above__gte=0) & Q(auto_approve_internal_up_to__gte=0),
                name="finance_refund_settings_non_negative",
            ),
        ]

    def __str__(self):
        return str(_("Refund settings"))


# --- Ledger (R-FIN-2) -------------------------------------------------------------------------------
# Balance and points are append-only entries; what a customer has is their sum, never a counter that
# can drift. Entries are in the shop currency (settings.SHOP_CURRENCY). Migration 0004_ledger adds
# triggers that refuse any write leaving a customer's balance or points below zero.


class LedgerKind(models.TextChoices):
    REFUND = "refund", _("Refund")
    CHECKOUT = "checkout", _("Spent at checkout")
    ADJUSTMENT = "adjustment", _("Adjustment")
    REVOCATION = "revocation", _("Revocation")


# Which way each kind moves: a refund only credits; spending and revoking only debit.
CREDIT_KINDS = (LedgerKind.REFUND, LedgerKind.ADJUSTMENT)
DEBIT_KINDS = (LedgerKind.CHECKOUT, LedgerKind.REVOCATION, LedgerKind.ADJUSTMENT)


def _entry_constraints(prefix: str, field: str) -> list:
    return [
        models.CheckConstraint(condition=~Q(**{field: 0}), name=f"{prefix}_{field}_non_zero"),
        models.CheckConstraint(
            condition=Q(kind=LedgerKind.ADJUSTMENT)
            | Q(kind=LedgerKind.REFUND, **{f"{field}__gt": 0})
            | Q(kind__in=[LedgerKind.CHECKOUT, LedgerKind.REVOCATION], **{f"{field}__lt": 0}),
            name=f"{prefix}_sign_matches_kind",
        ),
        models.CheckConstraint(
            condition=~Q(kind=LedgerKind.REFUND) | Q(refund__isnull=False), name=f"{prefix}_refund_credit_has_refund"
        ),
        # Idempotency: a refund is credited (or revoked) at most once, however often a worker retries.
        models.UniqueConstraint(
            fields=["refund", "kind"], condition=Q(refund__isnull=False), name=f"{prefix}_once_per_refund"
        ),
    ]


class LedgerEntry(models.Model):
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("customer"))
    kind = models.CharField(_("kind"), max_length=16, choices=LedgerKind.choices)
    refund = models.ForeignKey(
        Refund, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("refund")
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


class BalanceEntry(LedgerEntry):
    """Store balance: amount > 0 credits, < 0 debits."""

    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)

    class Meta(LedgerEntry.Meta):
        verbose_name = _("balance entry")
        verbose_name_plural = _("balance entries")
        indexes = [models.Index(fields=["customer", "-created_at"], name="finance_balance_recent")]
        constraints = _entry_constraints("finance_balanceentry", "amount")

    def __str__(self):
        return f"{self.customer_id}: {self.amount:+}"


class PointsEntry(LedgerEntry):
    """Points: points > 0 credits, < 0 debits."""

    points = models.IntegerField(_("points"))

    class Meta(LedgerEntry.Meta):
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        indexes = [models.Index(fields=["customer", "-created_at"], name="finance_points_recent")]
        constraints = _entry_constraints("finance_pointsentry", "points")

    def __str__(self):
        return f"{self.customer_id}: {self.points:+}"


class Coupon(models.Model):
    """A coupon worth `amount` off a later purchase. "Expired" is never stored: an issued coupon past
    `expires_at` is expired (see `ledger.coupon_state`), so no sweeper has to keep it true."""

    class State(models.TextChoices):
        ISSUED = "issued", _("Valid")
        USED = "used", _("Used")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")  # derived only; the CHECK below keeps it out of the table

    code = models.CharField(_("code"), max_length=16, unique=True)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="coupons", verbose_name=_("customer")
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.ISSUED)
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    refund = models.ForeignKey(
        Refund, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("refund")
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("issued by")
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cancelled by"),
    )
    cancel_note = models.CharField(_("reason for cancelling"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["customer", "-issued_at"], name="finance_coupon_recent")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="finance_coupon_amount_positive"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("issued_at")), name="finance_coupon_expires_after_issue"
            ),
            models.CheckConstraint(
                condition=Q(state="issued", used_at__isnull=True, cancelled_at__isnull=True)
                | Q(state="used", used_at__isnull=False, cancelled_at__isnull=True)
                | Q(state="cancelled", used_at__isnull=True, cancelled_at__isnull=False),
                name="finance_coupon_state_dates",
            ),
            # Idempotency: a refund paid as a coupon issues one coupon, however often a worker retries.
            models.UniqueConstraint(
                fields=["refund"], condition=Q(refund__isnull=False), name="finance_coupon_once_per_refund"
            ),
        ]

    def __str__(self):
        return self.code
