"""Dashboard: the shop's return settings (edited without a deploy) and the return requests."""

from django.contrib import admin

from aftersales.common.admin_site import ViewOnlyMixin

from .models import ReturnLine, ReturnRequest, ReturnSettings


@admin.register(ReturnSettings)
class ReturnSettingsAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "auto_approve_limit",
        "ship_deadline_days",
        "inspection_business_days",
        "free_returns_per_year",
    )

    def has_add_permission(self, request):
        return not ReturnSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


class ReturnLineInline(ViewOnlyMixin, admin.TabularInline):
    model = ReturnLine
    fields = ("order_line", "quantity")
    readonly_fields = fields
    extra = 0


@admin.register(ReturnRequest)
class ReturnRequestAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Requests are written by the returns services; staff act on them from the case page."""

    list_display = ("case", "reason", "refund_estimate", "return_shipping_paid_by", "auto_approved", "received_at")
    list_filter = ("reason", "auto_approved", "return_shipping_paid_by", "case__kind", "case__status")
    search_fields = ("case__number", "case__customer__email", "case__order__number", "tracking_number")
    list_select_related = ("case",)
    inlines = [ReturnLineInline]
