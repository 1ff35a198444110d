"""Warranty data (DOMAIN §3): the shop's warranty knobs, service centres, registered units, claims (the
detail row of a warranty case), the parts a repair used and the accessories sold as spare parts.
Statuses live on the Case; decisions live in `warranty.policy` and `warranty.services`."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from aftersales.common.settings_rows import SettingsRow

from .policy import Diagnosis, Document, Exclusion, Fault, Knobs, ServiceMode

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


def default_blocking_documents() -> list[str]:
    return [Document.ORIGINAL_INVOICE]


class WarrantySettings(SettingsRow):
    """The shop's warranty knobs: one row, edited by staff in the dashboard (no deploy)."""

    ship_in_days = models.PositiveSmallIntegerField(
        _("days to send the unit in after acceptance"), default=7, help_text=_("R-WAR-5")
    )
    quote_response_days = models.PositiveSmallIntegerField(
        _("days to accept or decline a paid quote"), default=7, help_text=_("R-WAR-3")
    )
    receipt_confirm_days = models.PositiveSmallIntegerField(
        _("days before a repaired unit counts as received"), default=10
    )
    turnaround_business_days = models.PositiveSmallIntegerField(
        _("target business days from arrival to shipping back"),
        default=10,
        help_text=_("Repairs past this are shown as overdue to supervisors."),
    )
    extend_by_repair_days = models.BooleanField(
        _("extend the warranty by the days in repair"), default=True, help_text=_("R-WAR-8")
    )
    repairs_before_replacement = models.PositiveSmallIntegerField(
        _("repairs of one fault before a replacement or refund"), default=2, help_text=_("R-WAR-9")
    )
    long_repair_days = models.PositiveSmallIntegerField(
        _("days in repair before a free replacement is offered"), default=30, help_text=_("R-WAR-10")
    )
    blocking_documents = models.JSONField(
        _("documents without which a claim is refused"),
        default=default_blocking_documents,
        blank=True,
        help_text=_("R-WAR-4: the others are recorded for the technician."),
    )
    expiry_reminder_days = models.PositiveSmallIntegerField(
        _("remind customers this many days before their warranty ends"), default=30
    )

    class Meta:
        verbose_name = _("warranty settings")
        verbose_name_plural = _("warranty settings")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="warranty_settings_single_row"),
            models.CheckConstraint(
                condition=Q(repairs_before_replacement__gte=1), name="warranty_settings_repairs_min"
            ),
            models.CheckConstraint(condition=Q(long_repair_days__gte=1), name="warranty_settings_long_repair_min"),
        ]

    def __str__(self):
        return str(_("Warranty settings"))

    def knobs(self) -> Knobs:
        return Knobs(
            extend_by_repair_days=self.extend_by_repair_days,
            repairs_before_replacement=self.repairs_before_replacement,
            long_repair_days=self.long_repair_days,
            blocking_documents=frozenset(d for d in (self.blocking_documents or []) if d in Document.values),
        )


class ServiceCentre(models.Model):
    """R-WAR-7: an authorised repair point, with the regions and brands it serves. Its own closed days
    (holidays beyond the shop's calendar) count against its turnaround time."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    regions = models.JSONField(
        _("regions served"), default=list, blank=True, help_text=_('Province or city names, e.g. ["上海", "江苏"].')
    )
    brands = models.ManyToManyField("orders.Brand", related_name="service_centres", verbose_name=_("brands served"))
    address = models.TextField(_("address for units sent in"))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    on_site = models.BooleanField(_("offers on-site visits"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service centre")
        verbose_name_plural = _("service centres")
        ordering = ["name"]

    def __str__(self):
        return self.name


class CentreClosure(models.Model):
    """A day a service centre is closed although the shop works (its own holiday or stock-taking)."""

    centre = models.ForeignKey(ServiceCentre, models.CASCADE, related_name="closures", verbose_name=_("centre"))
    date = models.DateField(_("date"))
    name = models.CharField(_("reason"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("centre closed day")
        verbose_name_plural = _("centre closed days")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["centre", "date"], name="warranty_closure_unique_day")]

    def __str__(self):
        return f"{self.centre}: {self.date}"


class Unit(models.Model):
    """A purchased unit registered by serial number (R-WAR-1), by the storefront or by its owner.

    A serial is unique per order line, not globally: a customer who types someone else's serial gets
    the same answer as for any other, and staff see duplicates in the dashboard instead."""

    class Source(models.TextChoices):
        STOREFRONT = "storefront", _("Storefront")
        CUSTOMER = "customer", _("Customer")
        STAFF = "staff", _("Staff")

    order_line = models.ForeignKey("orders.OrderLine", models.CASCADE, related_name="units", verbose_name=_("line"))
    serial_number = models.CharField(_("serial number"), max_length=64, db_index=True)
    source = models.CharField(_("registered by"), max_length=12, choices=Source.choices)
    registered_at = models.DateTimeField(_("registered"), auto_now_add=True)

    class Meta:
        verbose_name = _("registered unit")
        verbose_name_plural = _("registered units")
        ordering = ["order_line", "serial_number"]
        constraints = [
            models.UniqueConstraint(fields=["order_line", "serial_number"], name="warranty_unit_serial_once_per_line")
        ]

    def __str__(self):
        return self.serial_number


class Accessory(models.Model):
    """R-WAR-6: a spare part or accessory of a category's products, free while covered if it wears."""

    category = models.ForeignKey(
        "orders.Category", models.CASCADE, related_name="accessories", verbose_name=_("category")
    )
    name = models.CharField(_("name"), max_length=120)
    price = models.DecimalField(_("price"), **MONEY)
    wearing_part = models.BooleanField(
        _("wearing part"), default=False, help_text=_("Free within the warranty (R-WAR-6): batteries, filters, …")
    )
    active = models.BooleanField(_("sold"), default=True)

    class Meta:
        verbose_name = _("accessory")
        verbose_name_plural = _("accessories")
        ordering = ["category", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="warranty_accessory_price_non_negative"),
            models.UniqueConstraint(fields=["category", "name"], name="warranty_accessory_unique_name"),
        ]

    def __str__(self):
        return self.name


class Claim(models.Model):
    """The warranty detail of a warranty case: the unit, the fault, the documents, where it is repaired,
    what diagnosis found and what the customer owes. Dates are the milestones R-WAR-5 tracks."""

    case = models.OneToOneField(
        "cases.Case", models.CASCADE, primary_key=True, related_name="warranty_claim", verbose_name=_("case")
    )
    order_line = models.ForeignKey(
        "orders.OrderLine", models.PROTECT, related_name="warranty_claims", verbose_name=_("line")
    )
    unit = models.ForeignKey(Unit, models.PROTECT, null=True, blank=True, related_name="claims", verbose_name=_("unit"))
    fault = models.CharField(_("fault"), max_length=20, choices=Fault.choices)
    description = models.TextField(_("description"))
    documents = models.JSONField(_("documents the customer has"), default=dict, blank=True)
    missing_documents = models.JSONField(_("missing documents"), default=list, blank=True)
    accessory = models.ForeignKey(
        Accessory, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("accessory wanted")
    )
    accessory_price = models.DecimalField(
        _("accessory price"),
        null=True,
        blank=True,
        help_text=_("R-WAR-6, decided when asked: free for a wearing part under warranty, else its price."),
        **MONEY,
    )
    mode = models.CharField(_("service"), max_length=10, choices=ServiceMode.choices, default=ServiceMode.SHIP_IN)
    visit_at = models.DateTimeField(_("visit booked for"), null=True, blank=True)
    centre = models.ForeignKey(
        ServiceCentre, models.PROTECT, null=True, blank=True, related_name="claims", verbose_name=_("service centre")
    )
    coverage_ends_at = models.DateTimeField(_("covered until (when filed)"))
    # The unit's journey.
    carrier = models.CharField(_("carrier (to us)"), max_length=64, blank=True)
    tracking_number = models.CharField(_("tracking number (to us)"), max_length=64, blank=True)
    received_at = models.DateTimeField(_("unit received"), null=True, blank=True)
    diagnosed_at = models.DateTimeField(_("diagnosed"), null=True, blank=True)
    diagnosis = models.CharField(_("diagnosis"), max_length=12, choices=Diagnosis.choices, blank=True)
    diagnosis_notes = models.TextField(_("diagnosis notes"), blank=True)
    exclusion = models.CharField(_("exclusion"), max_length=24, choices=Exclusion.choices, blank=True)
    exclusion_explanation = models.TextField(_("explanation for the customer"), blank=True)
    quote_amount = models.DecimalField(_("paid repair quote"), null=True, blank=True, **MONEY)
    quote_accepted_at = models.DateTimeField(_("quote accepted"), null=True, blank=True)
    amount_due = models.DecimalField(_("owed by the customer"), default=ZERO, **MONEY)
    amount_due_paid_at = models.DateTimeField(_("payment received"), null=True, blank=True)
    appealed_at = models.DateTimeField(_("appealed"), null=True, blank=True)
    appeal_text = models.TextField(_("appeal"), blank=True)
    repaired_at = models.DateTimeField(_("repaired"), null=True, blank=True)
    qc_passed_at = models.DateTimeField(_("quality check passed"), null=True, blank=True)
    outbound_carrier = models.CharField(_("carrier (back)"), max_length=64, blank=True)
    outbound_tracking_number = models.CharField(_("tracking number (back)"), max_length=64, blank=True)
    shipped_back_at = models.DateTimeField(_("shipped back"), null=True, blank=True)
    repair_days = models.PositiveSmallIntegerField(
        _("days in repair"), default=0, help_text=_("R-WAR-8: received → shipped back; extends the warranty.")
    )
    replacement_offered_at = models.DateTimeField(_("free replacement offered"), null=True, blank=True)
    handed_over_to = models.ForeignKey(
        "cases.Case",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("replacement or refund case"),
    )
    replaced_by = models.ForeignKey(
        "cases.Case",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("unit replaced by"),
        help_text=_("R-WAR-9: the unit this claim was about was replaced; its repairs no longer count."),
    )

    class Meta:
        verbose_name = _("warranty claim")
        verbose_name_plural = _("warranty claims")
        constraints = [
            models.CheckConstraint(condition=Q(amount_due__gte=0), name="warranty_claim_amount_due_non_negative"),
            models.CheckConstraint(
                condition=Q(accessory__isnull=True, accessory_price__isnull=True)
                | Q(accessory__isnull=False, accessory_price__gte=0),
                name="warranty_claim_accessory_priced",
            ),
            models.CheckConstraint(
                condition=Q(quote_amount__isnull=True) | Q(quote_amount__gt=0), name="warranty_claim_quote_positive"
            ),
            models.CheckConstraint(
                condition=~Q(diagnosis=Diagnosis.EXCLUDED) | ~Q(exclusion=""),
                name="warranty_claim_exclusion_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(shipped_back_at__isnull=True)
                | Q(received_at__isnull=True)
                | Q(shipped_back_at__gte=F("received_at")),
                name="warranty_claim_back_after_received",
            ),
        ]
        indexes = [models.Index(fields=["centre", "received_at"], name="warranty_claim_centre_received")]
        permissions = [
            ("repair_claim", _("Can diagnose, repair and quality-check warranty claims")),
            ("decide_appeal", _("Can decide appeals against warranty exclusions")),
        ]

    def __str__(self):
        return self.case.number


class PartUsed(models.Model):
    """A part a repair used: free under the warranty, charged on a paid (quoted) repair."""

    claim = models.ForeignKey(Claim, models.CASCADE, related_name="parts", verbose_name=_("claim"))
    name = models.CharField(_("part"), max_length=120)
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)
    unit_price = models.DecimalField(_("unit price"), default=ZERO, **MONEY)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("added by"))
    added_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("part used")
        verbose_name_plural = _("parts used")
        ordering = ["added_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="warranty_part_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="warranty_part_price_non_negative"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.name}"


class ExpiryReminder(models.Model):
    """The warranty-expiry reminder sent for a line's coverage end: once each, whatever the job repeats."""

    order_line = models.ForeignKey(
        "orders.OrderLine", models.CASCADE, related_name="expiry_reminders", verbose_name=_("line")
    )
    coverage_ends_on = models.DateField(_("coverage ends"))
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        verbose_name = _("warranty expiry reminder")
        verbose_name_plural = _("warranty expiry reminders")
        constraints = [
            models.UniqueConstraint(fields=["order_line", "coverage_ends_on"], name="warranty_reminder_once")
        ]

    def __str__(self):
        return f"{self.order_line_id}: {self.coverage_ends_on}"
