"""Dashboard for technical support (the full ticket desk arrives with the dashboard work)."""

from django.contrib import admin

from .models import Ticket


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("case", "category", "priority", "team", "sla_due_at", "sla_flag")
