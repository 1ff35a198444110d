"""Dashboard for technical support (the full ticket desk arrives with the dashboard work). The
knowledge base and downloads register themselves in `techsupport.kb.admin`."""

from django.contrib import admin

from .kb import admin as kb_admin  # noqa: F401
from .models import Ticket


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("case", "category", "priority", "team", "sla_due_at", "sla_flag")
