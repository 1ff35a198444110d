from django.contrib import admin

from aftersales.common.admin_site import ViewOnlyMixin

from .models import Refund


@admin.register(Refund)
class RefundAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Refund rows are written by services; the finance queue comes with its own issue."""

    list_display = ("id", "order", "case", "source", "amount", "state", "created_at")
    list_filter = ("state", "source")
    search_fields = ("order__number", "case__number", "idempotency_key")
    list_select_related = ("order", "case")
    date_hierarchy = "created_at"
