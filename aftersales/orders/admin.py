"""Dashboard pages for the catalog and customers' orders.

Orders, their lines and money come from the storefront ingest; here they are looked at, not
rewritten: amounts, the ingest digest and the lines are read-only. Category knobs are the
after-sales policy and are edited here by supervisors.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import ORDER_STATUS_LABELS, Brand, Category, Order, OrderLine, Parcel, PriceChange, Product, Storefront

MONEY_FIELDS = ("currency", "goods_total", "discount_total", "shipping_fee", "paid_total")


class ReadOnlyInlineMixin:
    """An inline that shows rows but neither adds, edits nor deletes them."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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


@admin.register(Storefront)
class StorefrontAdmin(admin.ModelAdmin):
    """Only the token's first characters are ever shown; the token itself is never stored."""

    list_display = ("name", "token_hint", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("name",)
    fields = ("name", "active", "token_hint", "created_at")
    readonly_fields = ("token_hint", "created_at")

    def has_add_permission(self, request):
        # A storefront without an issued token cannot authenticate; tokens are issued by the
        # orders service (it shows the token once), not typed into a form.
        return False


class OrderLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderLine
    fields = ("line_no", "product", "product_name", "quantity", "unit_price", "discount", "paid_amount", "gift_of")
    readonly_fields = fields
    ordering = ("line_no",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "gift_of__order")


class ParcelInline(admin.TabularInline):
    model = Parcel
    extra = 0
    fields = ("carrier", "tracking_number", "shipped_at", "signed_for_at")


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
    autocomplete_fields = ("customer",)
    readonly_fields = ("status_label", *MONEY_FIELDS, "source_digest", "created_at", "updated_at")
    inlines = [OrderLineInline, ParcelInline]
    fieldsets = (
        (None, {"fields": ("number", "customer", "storefront", "status_label", "payment_mode", "is_b2b")}),
        (_("Money"), {"fields": MONEY_FIELDS}),
        (
            _("Milestones"),
            {"fields": ("placed_at", "paid_at", "left_warehouse_at", "signed_for_at", "cancelled_at")},
        ),
        (_("Shipping"), {"fields": ("shipping_address",)}),
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
    raw_id_fields = ("order", "product", "gift_of")
    readonly_fields = ("unit_price", "discount", "paid_amount")

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
    raw_id_fields = ("order",)
    date_hierarchy = "shipped_at"
