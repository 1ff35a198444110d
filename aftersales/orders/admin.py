"""Dashboard pages for the catalog and customers' orders.

Orders, their lines, parcels, milestones and money come from the storefront ingest (services
with their own checks); here they are looked at, not rewritten. Webhook deliveries to storefronts
are looked at too; a failed one can be retried. Category knobs are the
after-sales policy and are edited here by supervisors. A product's price changes only through its
price history (`services.record_price_change`), so the history and the price never disagree.

Feature apps add links to a product's page (`add_product_tool`) without the catalog importing them.
"""

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db import models
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from aftersales.common.admin_site import ViewOnlyMixin
from aftersales.common.errors import DomainError

from . import services, webhooks
from .models import (
    ORDER_STATUS_LABELS,
    Brand,
    Category,
    Order,
    OrderLine,
    Parcel,
    PriceChange,
    Product,
    Storefront,
    WebhookDelivery,
)

MONEY_FIELDS = ("currency", "goods_total", "discount_total", "shipping_fee", "paid_total")

# Links a feature app shows on a product's page (price protection: what a price cut would cost). Each
# tool is called with (request, product) and returns (label, url), or None when the user may not use it.
ProductTool = Callable[..., tuple[str, str] | None]
PRODUCT_TOOLS: list[ProductTool] = []


def add_product_tool(tool: ProductTool) -> None:
    """Called by a feature app's admin module; registering the same tool twice keeps one."""
    if tool not in PRODUCT_TOOLS:
        PRODUCT_TOOLS.append(tool)


class ReadOnlyInlineMixin(ViewOnlyMixin):
    """An inline that shows rows but neither adds, edits nor deletes them."""

    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "parent",
        "no_reason_return_allowed",
        "no_reason_return_days",
        "quality_return_days",
        "exchange_allowed",
        "exchange_days",
        "never_returnable_kind",
        "price_protection_days",
        "default_warranty_months",
    )
    list_editable = (
        "no_reason_return_allowed",
        "no_reason_return_days",
        "quality_return_days",
        "exchange_allowed",
        "exchange_days",
        "never_returnable_kind",
        "price_protection_days",
        "default_warranty_months",
    )
    list_filter = ("no_reason_return_allowed", "exchange_allowed", "never_returnable_kind", "parent")
    list_select_related = ("parent",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("parent",)
    fieldsets = (
        (None, {"fields": ("name", "slug", "parent")}),
        (
            _("Returns and exchanges"),
            {
                "fields": (
                    "no_reason_return_allowed",
                    "no_reason_return_days",
                    "never_returnable_kind",
                    "quality_return_days",
                    "exchange_allowed",
                    "exchange_days",
                )
            },
        ),
        (_("Price protection and warranty"), {"fields": ("price_protection_days", "default_warranty_months")}),
    )


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ("name", "warranty_months")
    list_editable = ("warranty_months",)
    search_fields = ("name",)


class PriceChangeInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = PriceChange
    fields = ("effective_at", "ends_at", "price", "kind", "note", "recorded_at")
    readonly_fields = fields
    ordering = ("-effective_at", "-id")
    verbose_name_plural = _("price history (newest first)")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = (
        "sku",
        "name",
        "brand",
        "category",
        "price",
        "effective_warranty",
        "is_electronics",
        "has_serial_number",
        "active",
        "updated_at",
    )
    list_filter = ("active", "category", "brand", "is_electronics", "is_luxury", "is_sealed", "has_serial_number")
    list_select_related = ("brand", "category")
    search_fields = ("sku", "name")
    autocomplete_fields = ("brand", "category")
    readonly_fields = ("updated_at",)
    inlines = [PriceChangeInline]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        product = self.get_object(request, unquote(object_id))
        if product is not None:
            extra_context["product_tools"] = [link for tool in PRODUCT_TOOLS if (link := tool(request, product))]
        return super().change_view(request, object_id, form_url, extra_context)

    def get_readonly_fields(self, request, obj=None):
        # The price of an existing product moves by a price-history entry, never by typing it here.
        return ("price", *self.readonly_fields) if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        result = services.upsert_product(
            sku=obj.sku,
            name=obj.name,
            brand=obj.brand.name,
            category=obj.category.slug,
            price=obj.price,
            warranty_months=obj.warranty_months,
            is_sealed=obj.is_sealed,
            is_luxury=obj.is_luxury,
            is_electronics=obj.is_electronics,
            has_serial_number=obj.has_serial_number,
            active=obj.active,
        )
        obj.pk = result.product.pk

    fieldsets = (
        (None, {"fields": ("sku", "name", "brand", "category", "price", "active")}),
        (_("Warranty"), {"fields": ("warranty_months",)}),
        (_("Resale-sensitive goods"), {"fields": ("is_sealed", "is_luxury", "is_electronics", "has_serial_number")}),
        (None, {"fields": ("updated_at",)}),
    )

    @admin.display(description=_("warranty (months)"))
    def effective_warranty(self, obj):
        return obj.effective_warranty_months


@admin.register(PriceChange)
class PriceChangeAdmin(admin.ModelAdmin):
    list_display = ("product", "price", "kind", "effective_at", "ends_at", "recorded_at", "note")
    list_filter = ("kind", "effective_at")
    list_select_related = ("product",)
    search_fields = ("product__sku", "product__name", "note")
    date_hierarchy = "effective_at"
    autocomplete_fields = ("product",)
    readonly_fields = ("recorded_at",)
    ordering = ("-effective_at", "-id")

    def get_readonly_fields(self, request, obj=None):
        # History is history: once recorded, only the note may be corrected.
        if obj is not None:
            return ("product", "price", "kind", "effective_at", "ends_at", "recorded_at")
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        entry, _created = services.record_price_change(
            product=obj.product,
            price=obj.price,
            kind=obj.kind,
            effective_at=obj.effective_at,
            ends_at=obj.ends_at,
            note=obj.note,
        )
        obj.pk = entry.pk


@admin.register(Storefront)
class StorefrontAdmin(admin.ModelAdmin):
    """Only the token's first characters are ever shown; the token itself is never stored. The webhook
    signing secret is stored (signing needs it) but shown only once: on the page that follows setting
    a first webhook URL, or the "rotate" action; afterwards only its first characters."""

    list_display = ("name", "token_hint", "active", "webhook_url", "webhook_secret_hint", "created_at")
    list_filter = ("active",)
    search_fields = ("name",)
    fields = ("name", "active", "token_hint", "webhook_url", "webhook_secret_hint", "payment_url", "created_at")
    readonly_fields = ("token_hint", "webhook_secret_hint", "created_at")
    actions = ["rotate_webhook_secret"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request):
        # A storefront needs an issued token, shown once: `manage.py create_storefront NAME`.
        return False

    @admin.display(description=_("webhook secret starts with"))
    def webhook_secret_hint(self, obj):
        return services.webhook_secret_hint(obj) or "-"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # A first webhook URL needs a secret to sign with: generated now, shown on the next page only.
        _storefront, secret = services.ensure_webhook_secret(storefront=obj)
        if secret:
            self._new_secrets(request)[obj.pk] = secret

    def response_change(self, request, obj):
        secret = self._new_secrets(request).pop(obj.pk, None)
        if secret:
            return self._show_secrets(request, [(obj, secret)])
        return super().response_change(request, obj)

    @admin.action(description=_("Rotate the webhook signing secret"), permissions=["change"])
    def rotate_webhook_secret(self, request, queryset):
        rotated = [services.rotate_webhook_secret(storefront=storefront) for storefront in queryset.order_by("pk")]
        return self._show_secrets(request, rotated)

    @staticmethod
    def _new_secrets(request) -> dict:
        """Secrets generated while saving, kept on the request (never in the session) for the response."""
        if not hasattr(request, "_new_webhook_secrets"):
            request._new_webhook_secrets = {}
        return request._new_webhook_secrets

    def _show_secrets(self, request, pairs):
        """The one page that shows plaintext secrets; it is never cached (admin views add no-cache headers)."""
        context = {
            **self.admin_site.each_context(request),
            "title": _("Webhook signing secrets"),
            "opts": self.opts,
            "secrets": [{"storefront": storefront, "secret": secret} for storefront, secret in pairs],
            "signature_header": webhooks.SIGNATURE_HEADER,
            "timestamp_header": webhooks.TIMESTAMP_HEADER,
        }
        response = TemplateResponse(request, "admin/orders/storefront/webhook_secrets.html", context)
        add_never_cache_headers(response)
        return response


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Events sent to storefronts (`orders.webhooks`): rows are written by the service; a failed one
    can be tried again ("retry now")."""

    list_display = (
        "id",
        "created_at",
        "storefront",
        "event",
        "key",
        "state",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("state", "event", "storefront", "created_at")
    list_select_related = ("storefront",)
    search_fields = ("key", "event", "storefront__name")
    date_hierarchy = "created_at"
    actions = ["retry_now"]
    fields = (
        "storefront",
        "event",
        "key",
        "state",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
        "updated_at",
        "payload",
    )
    readonly_fields = fields

    def has_retry_permission(self, request):
        return request.user.has_perm("orders.change_webhookdelivery")

    @admin.action(description=_("Retry now"), permissions=["retry"])
    def retry_now(self, request, queryset):
        retried, refused = 0, []
        for delivery in queryset.order_by("pk"):
            try:
                webhooks.retry_delivery(delivery=delivery)
            except DomainError as error:
                refused.append(f"#{delivery.pk}: {error.text}")
            else:
                retried += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery will be tried again now.", "%(count)d deliveries will be tried again now.", retried
            )
            % {"count": retried},
            messages.SUCCESS if retried else messages.INFO,
        )
        if refused:
            self.message_user(request, "; ".join(refused), messages.WARNING)


class OrderLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderLine
    fields = ("line_no", "product", "product_name", "quantity", "unit_price", "discount", "paid_amount", "gift_of")
    readonly_fields = fields
    ordering = ("line_no",)

    def get_queryset(self, request):
        # "order": each row's title (OrderLine.__str__) names its order.
        return super().get_queryset(request).select_related("order", "product", "gift_of__order")


class ParcelInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Parcel
    fields = ("carrier", "tracking_number", "shipped_at", "signed_for_at")
    readonly_fields = fields


class OrderStatusFilter(admin.SimpleListFilter):
    """The derived status: the furthest milestone reached (never stored twice)."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return ORDER_STATUS_LABELS

    def queryset(self, request, queryset):
        value = self.value()
        if value == "cancelled":
            return queryset.filter(cancelled_at__isnull=False)
        live = queryset.filter(cancelled_at__isnull=True)
        if value == "signed_for":
            return live.filter(signed_for_at__isnull=False)
        if value == "shipped":
            return live.filter(signed_for_at__isnull=True, left_warehouse_at__isnull=False)
        if value == "paid":
            return live.filter(signed_for_at__isnull=True, left_warehouse_at__isnull=True, paid_at__isnull=False)
        if value == "placed":
            return live.filter(signed_for_at__isnull=True, left_warehouse_at__isnull=True, paid_at__isnull=True)
        return queryset


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "customer",
        "status_label",
        "payment_mode",
        "is_b2b",
        "paid_total",
        "currency",
        "placed_at",
        "signed_for_at",
    )
    list_filter = (OrderStatusFilter, "payment_mode", "is_b2b", "signed_for_at", "placed_at", "storefront")
    list_select_related = ("customer", "storefront")
    search_fields = ("number", "customer__email", "customer__full_name")
    date_hierarchy = "placed_at"
    # Ingested data: only the shipping address may be corrected by hand.
    readonly_fields = (
        "number",
        "customer",
        "storefront",
        "status_label",
        "payment_mode",
        "is_b2b",
        *MONEY_FIELDS,
        *("placed_at", "paid_at", "left_warehouse_at", "signed_for_at", "cancelled_at"),
        "source_digest",
        "created_at",
        "updated_at",
    )
    inlines = [OrderLineInline, ParcelInline]
    fieldsets = (
        (None, {"fields": ("number", "customer", "storefront", "status_label", "payment_mode", "is_b2b")}),
        (_("Money"), {"fields": MONEY_FIELDS}),
        (
            _("Milestones"),
            {"fields": ("placed_at", "paid_at", "left_warehouse_at", "signed_for_at", "cancelled_at")},
        ),
        (pgettext_lazy("order admin section", "Delivery"), {"fields": ("shipping_address",)}),
        (_("Ingest"), {"classes": ("collapse",), "fields": ("source_digest", "created_at", "updated_at")}),
    )

    @admin.display(description=_("status"))
    def status_label(self, obj):
        return obj.get_status_display()

    def has_add_permission(self, request):
        return False  # orders arrive through the storefront ingest, with amounts that add up


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ("order", "line_no", "product_name", "quantity", "unit_price", "discount", "paid_amount", "gift")
    list_filter = ("order__payment_mode", "order__is_b2b")
    list_select_related = ("order", "product", "gift_of__order")
    search_fields = ("order__number", "product__sku", "product_name")
    fields = ("order", "line_no", "product", "product_name", "quantity", "unit_price", "discount", "paid_amount")
    readonly_fields = fields

    @admin.display(description=_("gift"), boolean=True)
    def gift(self, obj):
        return obj.is_gift

    def has_add_permission(self, request):
        return False  # lines arrive with their order


@admin.register(Parcel)
class ParcelAdmin(admin.ModelAdmin):
    list_display = ("tracking_number", "carrier", "order", "shipped_at", "signed_for_at")
    list_filter = ("carrier", "shipped_at", "signed_for_at")
    list_select_related = ("order",)
    search_fields = ("tracking_number", "order__number")
    date_hierarchy = "shipped_at"
    fields = ("order", "carrier", "tracking_number", "shipped_at", "signed_for_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # parcels arrive with their order
