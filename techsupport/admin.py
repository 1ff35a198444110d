"""Dashboard for technical support: the ticket desk (`techsupport.desk`: the queue, the ticket page,
logging a contact, the SLA statistics) and the support configuration: teams, SLA policies, canned
replies and the settings. SLA alerts and e-mail messages are written by the services and only shown.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from aftersales.accounts.models import Tier
from aftersales.common.admin_site import SingleRowSettingsMixin, ViewOnlyMixin

from . import selectors
from .desk import tickets as _desk  # noqa: F401  (registers the ticket desk)
from .kb import admin as _kb  # noqa: F401  (registers the knowledge base and downloads)
from .models import CannedReply, Category, MailMessage, Priority, SlaAlert, SlaPolicy, SupportSettings, Team


def _staff():
    return get_user_model().objects.filter(is_staff=True, is_active=True).order_by("full_name", "email")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """R-SUP-2: first line (tier 1) and technical support (tier 2)."""

    list_display = ("name", "code", "tier", "lead", "member_count")
    list_filter = ("tier",)
    search_fields = ("name", "code")
    filter_horizontal = ("members",)
    list_select_related = ("lead",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("members", distinct=True))

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, obj):
        return obj.member_count

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "lead":
            kwargs["queryset"] = _staff()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "members":
            kwargs["queryset"] = _staff()
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class SlaPolicyForm(forms.ModelForm):
    """The conditions are lists stored as JSON: ticked here, none ticked matching anything."""

    categories = forms.MultipleChoiceField(
        label=_("categories"),
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any category."),
    )
    priorities = forms.MultipleChoiceField(
        label=_("priorities"),
        choices=Priority.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any priority."),
    )
    customer_tiers = forms.MultipleChoiceField(
        label=_("customer tiers"),
        choices=Tier.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any customer."),
    )

    class Meta:
        model = SlaPolicy
        fields = (
            "name",
            "position",
            "active",
            "categories",
            "priorities",
            "customer_tiers",
            "first_response_minutes",
            "next_response_minutes",
            "resolution_minutes",
        )

    def clean(self):
        data = super().clean()
        first, resolution = data.get("first_response_minutes"), data.get("resolution_minutes")
        if first and resolution and resolution < first:
            self.add_error(
                "resolution_minutes", _("The resolution target cannot be shorter than the first response target.")
            )
        return data


def _choice_labels(values, choices) -> str:
    labels = dict(choices)
    return ", ".join(str(labels.get(value, value)) for value in values)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    """R-SUP-3: policies are tried by position, the first whose every condition holds wins."""

    form = SlaPolicyForm
    list_display = ("position", "name", "active", "conditions", "targets")
    list_display_links = ("name",)
    list_filter = ("active",)
    search_fields = ("name",)
    ordering = ("position", "id")

    @admin.display(description=_("conditions"))
    def conditions(self, obj):
        parts = [
            (_("categories"), _choice_labels(obj.categories, Category.choices)),
            (_("priorities"), _choice_labels(obj.priorities, Priority.choices)),
            (_("customer tiers"), _choice_labels(obj.customer_tiers, Tier.choices)),
        ]
        shown = [(title, text) for title, text in parts if text]
        if not shown:
            return _("Every ticket")
        return format_html_join("; ", "{}: {}", shown)

    @admin.display(description=_("targets (business minutes)"))
    def targets(self, obj):
        return _("first %(first)s · next %(next)s · resolution %(resolution)s") % {
            "first": obj.first_response_minutes,
            "next": obj.next_response_minutes or "-",
            "resolution": obj.resolution_minutes or "-",
        }


def _placeholder_list() -> str:
    return ", ".join(f"{{{name}}}" for name in selectors.PLACEHOLDERS)


class CannedReplyForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ("title", "body", "category", "then", "active")
        help_texts = {
            "body": lazy(
                lambda: _("Placeholders filled from the ticket: %(names)s.") % {"names": _placeholder_list()}, str
            )(),
            "then": _("A macro: after sending, wait for the customer or resolve the ticket."),
        }

    def clean_body(self):
        body = self.cleaned_data["body"]
        unknown = selectors.unknown_placeholders(body)
        if unknown:
            raise forms.ValidationError(
                _("Unknown placeholder(s): %(names)s. Use %(known)s.")
                % {
                    "names": ", ".join(f"{{{name}}}" for name in unknown),
                    "known": _placeholder_list(),
                }
            )
        return body


# What a canned reply's preview fills its placeholders with.
PREVIEW_VALUES = {
    "customer": "Li Wei",
    "number": "TKT-20260304-000042",
    "order": "SO20260301001",
    "product": "Acme X1",
    "agent": "Zhang Min",
}


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    """R-SUP-4: replies agents insert from the ticket page's picker."""

    form = CannedReplyForm
    list_display = ("title", "category", "then", "active")
    list_filter = ("active", "category", "then")
    search_fields = ("title", "body")
    readonly_fields = ("preview",)

    @admin.display(description=_("preview"))
    def preview(self, obj):
        if obj is None or not obj.body:
            return "-"
        return format_html(
            '<div class="canned-preview">{}</div>', selectors.fill_placeholders(obj.body, PREVIEW_VALUES)
        )


@admin.register(SupportSettings)
class SupportSettingsAdmin(SingleRowSettingsMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "first_response_minutes",
        "resolution_minutes",
        "warning_percent",
        "supervisor_after_minutes",
        "remind_after_days",
        "close_after_days",
    )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "supervisor":
            kwargs["queryset"] = _staff()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        obj.pk = 1  # the single row
        super().save_model(request, obj, form, change)


@admin.register(SlaAlert)
class SlaAlertAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ("at", "ticket_number", "target", "cycle", "level", "told")
    list_filter = ("level", "target", "at")
    search_fields = ("ticket__case__number",)
    date_hierarchy = "at"
    ordering = ("-at", "-pk")
    list_select_related = ("ticket__case",)

    @admin.display(description=_("ticket"), ordering="ticket__case__number")
    def ticket_number(self, obj):
        return obj.ticket.case.number

    @admin.display(description=_("told"))
    def told(self, obj):
        return len(obj.notified or [])


@admin.register(MailMessage)
class MailMessageAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ("at", "direction", "case", "message_id")
    list_filter = ("direction", "at")
    search_fields = ("message_id", "case__number")
    date_hierarchy = "at"
    ordering = ("-at", "-pk")
    list_select_related = ("case",)
