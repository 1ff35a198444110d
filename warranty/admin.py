"""Dashboard: the shop's warranty settings, service centres and accessories (configuration), and the
claims (read-only here; staff act on a claim through the step forms on its page, which call
`warranty.services`)."""

from django.contrib import admin

from aftersales.common.admin_site import ViewOnlyMixin

from .models import Accessory, CentreClosure, Claim, PartUsed, ServiceCentre, WarrantySettings


@admin.register(WarrantySettings)
class WarrantySettingsAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "ship_in_days",
        "long_repair_days",
        "repairs_before_replacement",
        "extend_by_repair_days",
    )

    def has_add_permission(self, request):
        return not WarrantySettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


class CentreClosureInline(admin.TabularInline):
    model = CentreClosure
    extra = 1


@admin.register(ServiceCentre)
class ServiceCentreAdmin(admin.ModelAdmin):
    list_display = ("name", "phone", "on_site", "active")
    list_filter = ("active", "on_site", "brands")
    search_fields = ("name", "address")
    filter_horizontal = ("brands",)
    inlines = [CentreClosureInline]


@admin.register(Accessory)
class AccessoryAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "price", "wearing_part", "active")
    list_filter = ("category", "wearing_part", "active")
    search_fields = ("name",)


class PartUsedInline(ViewOnlyMixin, admin.TabularInline):
    model = PartUsed
    fields = ("name", "quantity", "unit_price", "added_by", "added_at")
    readonly_fields = fields
    extra = 0


@admin.register(Claim)
class ClaimAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ("case", "order_line", "fault", "centre", "received_at")
    list_select_related = ("case", "order_line", "centre")
    inlines = [PartUsedInline]
