"""Catalog and customers' orders (DOMAIN §1): the data every after-sales rule reads.

Money is Decimal with 2 places in the shop currency (R-ORD-4); non-negative amounts and the order
total identity are database constraints, not only Python checks.
"""

import string
from decimal import Decimal
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


class NeverReturnableKind(models.TextChoices):
    """R-RET-7: kinds of goods never returnable without a reason (quality rules still apply)."""

    NONE = "", _("(returnable)")
    JEWELRY = "jewelry", _("Jewelry")
    GOLD = "gold", _("Gold")
    DIAMOND = "diamond", _("Diamonds")
    WATCH = "watch", _("Watches")
    PERSONAL_ACCESSORY = "personal_accessory", _("Personal accessories")
    CUSTOM_MADE = "custom_made", _("Custom-made goods")
    PERISHABLE = "perishable", _("Perishables")
    DIGITAL = "digital", _("Digital goods")


class Category(models.Model):
    """A product category and the after-sales knobs the policy engines read for its products."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children")
    no_reason_return_allowed = models.BooleanField(_("no-reason return allowed"), default=True)
    no_reason_return_days = models.PositiveSmallIntegerField(_("no-reason return window (days)"), default=7)
    quality_return_days = models.PositiveSmallIntegerField(_("quality-problem return window (days)"), default=7)
    exchange_allowed = models.BooleanField(_("exchange allowed"), default=True)
    exchange_days = models.PositiveSmallIntegerField(_("exchange window (days)"), default=15)
    quality_report_required = models.BooleanField(
        _("quality claims need a service-centre report"),
        default=False,
        help_text=_(
            "Appliances: a quality-problem return or exchange needs a manufacturer service centre's "
            "inspection report that is still valid (R-RET-8)."
        ),
    )
    never_returnable_kind = models.CharField(
        _("never-returnable kind"), max_length=24, choices=NeverReturnableKind.choices, blank=True, default=""
    )
    price_protection_days = models.PositiveSmallIntegerField(
        _("price-protection window (days)"),
        default=0,
        help_text=_(
            "0: until the end of the sign-for (or pickup) day; N: until the end of the N-th day after it (R-PP-2)."
        ),
    )
    default_warranty_months = models.PositiveSmallIntegerField(_("default warranty (months)"), default=12)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def no_reason_returnable(self) -> bool:
        return self.no_reason_return_allowed and not self.never_returnable_kind


class Brand(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    warranty_months = models.PositiveSmallIntegerField(
        _("warranty override (months)"), null=True, blank=True, help_text=_("Empty: the category's default.")
    )

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    model_code = models.CharField(
        _("model"),
        max_length=64,
        blank=True,
        db_index=True,
        help_text=_(
            "Products with the same model are variants of each other; an exchange may pick any of them (R-RET-5)."
        ),
    )
    brand = models.ForeignKey(Brand, models.PROTECT, related_name="products", verbose_name=_("brand"))
    category = models.ForeignKey(Category, models.PROTECT, related_name="products", verbose_name=_("category"))
    price = models.DecimalField(_("regular price"), **MONEY)
    warranty_months = models.PositiveSmallIntegerField(
        _("warranty (months)"), null=True, blank=True, help_text=_("Empty: the brand's, else the category's.")
    )
    # Resale-sensitive flags read by R-RET-6.
    is_sealed = models.BooleanField(_("sealed goods"), default=False)
    is_luxury = models.BooleanField(_("luxury / high value"), default=False)
    is_electronics = models.BooleanField(_("electronics (phone, camera, laptop …)"), default=False)
    has_serial_number = models.BooleanField(_("has serial numbers"), default=False)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(price__gte=0), name="orders_product_price_non_negative")]

    def __str__(self):
        return f"{self.name} ({self.sku})"

    @property
    def effective_warranty_months(self) -> int:
        if self.warranty_months is not None:
            return self.warranty_months
        if self.brand.warranty_months is not None:
            return self.brand.warranty_months
        return self.category.default_warranty_months


class PriceKind(models.TextChoices):
    REGULAR = "regular", _("Regular price")
    FLASH_SALE = "flash_sale", _("Flash sale")
    LIMITED_TIME = "limited_time", _("Limited-time offer")
    LIMITED_QUANTITY = "limited_quantity", _("Limited-quantity offer")
    COUPON = "coupon", _("Coupon price")
    SPECIAL = "special", _("Special price")
    PRICING_ERROR = "pricing_error", _("Pricing error")


class PriceChange(models.Model):
    """One entry of a product's price history (R-ORD-3); the kind decides whether it may be a
    price-protection basis (R-PP-4)."""

    product = models.ForeignKey(Product, models.CASCADE, related_name="price_changes", verbose_name=_("product"))
    price = models.DecimalField(_("price"), **MONEY)
    kind = models.CharField(_("kind"), max_length=20, choices=PriceKind.choices, default=PriceKind.REGULAR)
    effective_at = models.DateTimeField(_("effective from"), db_index=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("price change")
        verbose_name_plural = _("price changes")
        ordering = ["product", "-effective_at"]
        indexes = [models.Index(fields=["product", "effective_at"], name="orders_price_product_time")]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="orders_pricechange_price_non_negative"),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("effective_at")),
                name="orders_pricechange_ends_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.product.sku} {self.price} ({self.get_kind_display()})"


PAYMENT_URL_FIELDS = {"order", "case", "amount", "currency"}


def validate_payment_url(value: str) -> None:
    """An http(s) address whose only {placeholders} are PAYMENT_URL_FIELDS."""
    try:
        names = {name for _text, name, _spec, _conv in string.Formatter().parse(value) if name is not None}
    except ValueError:
        names = None
    if names is None or not names <= PAYMENT_URL_FIELDS:
        raise ValidationError(_("Use only {order}, {case}, {amount} and {currency} in braces."))
    URLValidator(schemes=["http", "https"])(value.format_map(dict.fromkeys(PAYMENT_URL_FIELDS, "x")))


class Storefront(models.Model):
    """A shop front that pushes orders; it authenticates with a token whose SHA-256 we keep.

    We also tell it things (`aftersales.orders.webhooks`): events are POSTed to `webhook_url`, signed
    with `webhook_secret`. Unlike the token, the secret is kept in plaintext because signing needs it;
    the dashboard shows it only once, when it is generated or rotated."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    token_sha256 = models.CharField(_("token SHA-256"), max_length=64, unique=True, editable=False)
    token_hint = models.CharField(_("token starts with"), max_length=8, editable=False)
    active = models.BooleanField(_("active"), default=True)
    webhook_url = models.URLField(
        _("webhook URL"),
        max_length=500,
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Where events for this storefront are POSTed (signed). Empty: no events are sent."),
    )
    webhook_secret = models.CharField(_("webhook signing secret"), max_length=100, blank=True, editable=False)
    payment_url = models.CharField(
        _("payment page"),
        max_length=500,
        blank=True,
        validators=[validate_payment_url],
        help_text=_(
            "Where a customer pays what a case asks of them (an exchange's price difference, a repair quote, "
            "an accessory): {order}, {case}, {amount} and {currency} are filled in. The storefront then "
            "reports the payment through the API. Empty: no payment button; staff record payments by hand."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("storefront")
        verbose_name_plural = _("storefronts")

    def __str__(self):
        return self.name

    def payment_link(self, *, order: str, case: str, amount: Decimal, currency: str) -> str:
        """The payment page for one amount due, or "" when the storefront has none."""
        if not self.payment_url or not self.active:
            return ""
        values = {"order": order, "case": case, "amount": f"{amount:.2f}", "currency": currency}
        return self.payment_url.format_map({key: quote(value, safe="") for key, value in values.items()})


class PaymentMode(models.TextChoices):
    PREPAID = "prepaid", _("Prepaid online")
    COD = "cod", _("Cash on delivery")
    PICKUP = "pickup", _("Self pickup")


class Order(models.Model):
    """R-ORD-1/2. Totals: paid_total = goods_total − discount_total + shipping_fee.

    The identities are compared after rounding to the cent so SQLite, which keeps decimals as
    binary floats, checks them as exactly as PostgreSQL's numeric does."""

    number = models.CharField(_("order number"), max_length=64, unique=True)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="orders", verbose_name=_("customer")
    )
    storefront = models.ForeignKey(
        Storefront, models.PROTECT, null=True, blank=True, related_name="orders", verbose_name=_("storefront")
    )
    payment_mode = models.CharField(_("payment mode"), max_length=10, choices=PaymentMode.choices)
    is_b2b = models.BooleanField(_("business (B2B) order"), default=False)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    goods_total = models.DecimalField(_("goods total"), **MONEY)
    discount_total = models.DecimalField(_("discounts"), default=ZERO, **MONEY)
    shipping_fee = models.DecimalField(_("shipping fee"), default=ZERO, **MONEY)
    paid_total = models.DecimalField(_("paid total"), **MONEY)
    placed_at = models.DateTimeField(_("placed"))
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    left_warehouse_at = models.DateTimeField(_("left warehouse"), null=True, blank=True)
    signed_for_at = models.DateTimeField(_("signed for / picked up"), null=True, blank=True, db_index=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    shipping_address = models.TextField(_("shipping address"), blank=True)
    # The exact body last ingested from the storefront, so a repeated push is recognised as a no-op.
    source_digest = models.CharField(_("ingest digest"), max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at"]
        indexes = [
            models.Index(fields=["customer", "-placed_at"], name="orders_order_customer_recent"),
            # Orders of a period (the insight page reads today's, and changed days', live).
            models.Index(fields=["placed_at"], name="orders_order_placed"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(goods_total__gte=0)
                & Q(discount_total__gte=0)
                & Q(shipping_fee__gte=0)
                & Q(paid_total__gte=0),
                name="orders_order_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(discount_total__lte=F("goods_total")), name="orders_order_discount_within_goods"
            ),
            models.CheckConstraint(
                condition=Q(paid_total=Round(F("goods_total") - F("discount_total") + F("shipping_fee"), 2)),
                name="orders_order_paid_total_identity",
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def status(self) -> str:
        """The furthest milestone reached, derived from the timestamps (never stored twice)."""
        if self.cancelled_at:
            return "cancelled"
        if self.signed_for_at:
            return "signed_for"
        if self.left_warehouse_at:
            return "shipped"
        if self.paid_at:
            return "paid"
        return "placed"

    def get_status_display(self):
        return dict(ORDER_STATUS_LABELS)[self.status]


ORDER_STATUS_LABELS = [
    ("placed", _("Placed")),
    ("paid", _("Paid")),
    ("shipped", _("Left the warehouse")),
    ("signed_for", _("Signed for")),
    ("cancelled", _("Cancelled")),
]


class OrderLine(models.Model):
    """One product on an order. `paid_amount` is what the customer really paid for the whole line
    after apportioned discounts: unit_price × quantity − discount."""

    order = models.ForeignKey(Order, models.CASCADE, related_name="lines", verbose_name=_("order"))
    line_no = models.PositiveSmallIntegerField(_("line"))
    # Indexed by (product, id) below, which also serves the foreign key.
    product = models.ForeignKey(
        Product, models.PROTECT, related_name="order_lines", verbose_name=_("product"), db_index=False
    )
    product_name = models.CharField(_("product name"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit list price"), **MONEY)
    discount = models.DecimalField(_("apportioned discount"), default=ZERO, **MONEY)
    paid_amount = models.DecimalField(_("paid for the line"), **MONEY)
    gift_of = models.ForeignKey(
        "self", models.CASCADE, null=True, blank=True, related_name="gifts", verbose_name=_("gift of")
    )

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order", "line_no"]
        indexes = [
            # The lines of some products without reading the table (an index-only scan): how the insight
            # page finds the cases about a brand, category or product (aftersales.insight.selectors.cases).
            models.Index(fields=["product", "id"], name="orders_line_product"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="orders_line_unique_no"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orders_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0) & Q(discount__gte=0) & Q(paid_amount__gte=0),
                name="orders_line_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(paid_amount=Round(F("unit_price") * F("quantity") - F("discount"), 2)),
                name="orders_line_paid_amount_identity",
            ),
        ]

    def __str__(self):
        return f"{self.order.number}#{self.line_no} {self.product_name} ×{self.quantity}"

    @property
    def is_gift(self) -> bool:
        return self.gift_of_id is not None

    @property
    def unit_price_paid(self) -> Decimal:
        """What one unit cost after discounts (rounded to the cent; refunds apportion exactly)."""
        return (self.paid_amount / self.quantity).quantize(Decimal("0.01"))


class Parcel(models.Model):
    order = models.ForeignKey(Order, models.CASCADE, related_name="parcels", verbose_name=_("order"))
    carrier = models.CharField(_("carrier"), max_length=64)
    tracking_number = models.CharField(_("tracking number"), max_length=64)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    signed_for_at = models.DateTimeField(_("signed for"), null=True, blank=True)

    class Meta:
        verbose_name = _("parcel")
        verbose_name_plural = _("parcels")
        constraints = [
            models.UniqueConstraint(fields=["order", "carrier", "tracking_number"], name="orders_parcel_unique")
        ]

    def __str__(self):
        return f"{self.carrier} {self.tracking_number}"


class WebhookDelivery(models.Model):
    """One event for a storefront, as an outbox row: written in the transaction that caused it, then
    POSTed by a worker until the storefront answers 2xx or we give up (`aftersales.orders.webhooks`).

    `pending` rows always have `next_attempt_at` (when a worker may send it next); a worker sending it
    moves that time forward first, so a second worker leaves it alone and a dead worker's row comes
    back by itself."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    storefront = models.ForeignKey(
        Storefront, models.CASCADE, related_name="webhook_deliveries", verbose_name=_("storefront")
    )
    event = models.CharField(_("event"), max_length=64)
    # The same event queued twice (a retried task, a repeated action) finds this row instead of a new one;
    # the storefront receives it as the delivery id, the same on every attempt.
    key = models.CharField(_("event id"), max_length=200, unique=True)
    payload = models.JSONField(_("payload"), encoder=DjangoJSONEncoder)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweeper's query: pending rows whose next attempt is due.
            models.Index(fields=["next_attempt_at"], condition=Q(state="pending"), name="orders_webhook_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["pending", "delivered", "failed"]), name="orders_webhook_known_state"
            ),
            models.CheckConstraint(condition=~Q(key="") & ~Q(event=""), name="orders_webhook_key_and_event"),
            models.CheckConstraint(
                condition=(Q(state="pending") & Q(next_attempt_at__isnull=False))
                | (~Q(state="pending") & Q(next_attempt_at__isnull=True)),
                name="orders_webhook_next_attempt_only_when_pending",
            ),
            models.CheckConstraint(
                condition=(Q(state="delivered") & Q(delivered_at__isnull=False))
                | (~Q(state="delivered") & Q(delivered_at__isnull=True)),
                name="orders_webhook_delivered_at_only_when_delivered",
            ),
        ]

    def __str__(self):
        return f"{self.event} {self.key}"
