"""Dashboard of the knowledge base and downloads (R-SUP-5).

Configuration, not logic: staff write articles here; publishing and withdrawing in bulk, counters and
releases go through `techsupport.kb.services` (a release's file is stored, sized and hashed by
`services.add_release`; its counters and checksum are never typed). Suggestions shown before tickets
are read-only, with the deflection rate of the last 30 days above the list."""

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from aftersales.common.admin_site import ViewOnlyMixin
from aftersales.common.errors import ValidationFailed

from ..models import Article, Deflection, Release
from . import selectors, services

RATE_DAYS = 30


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "kind",
        "language",
        "published",
        "views",
        "helpful_yes",
        "helpful_no",
        "helpful_percent",
        "updated_at",
    )
    list_filter = ("kind", "published", "language")
    search_fields = ("title", "slug", "summary")
    autocomplete_fields = ("products", "categories")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("views", "helpful_yes", "helpful_no", "helpful_percent", "updated_at")
    actions = ("publish", "unpublish")
    fieldsets = (
        (None, {"fields": ("title", "slug", "kind", "language", "published")}),
        (
            _("Content"),
            {
                "fields": ("summary", "body", "video_url"),
                "description": _("Plain text: a blank line starts a new paragraph. HTML is shown as typed, never run."),
            },
        ),
        (_("Applies to"), {"fields": ("products", "categories")}),
        (_("Readers"), {"fields": ("views", "helpful_yes", "helpful_no", "helpful_percent", "updated_at")}),
    )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "video_url":
            kwargs["assume_scheme"] = "https"  # a link typed without its scheme
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=_("helpful %"))
    def helpful_percent(self, obj):
        votes = obj.helpful_yes + obj.helpful_no
        return f"{round(obj.helpful_yes * 100 / votes)}%" if votes else "-"

    @admin.action(description=_("Publish the selected articles"), permissions=["change"])
    def publish(self, request, queryset):
        count = services.set_published(articles=queryset, published=True)
        self.message_user(
            request, ngettext("%(count)d article published.", "%(count)d articles published.", count) % {"count": count}
        )

    @admin.action(description=_("Withdraw the selected articles (unpublish)"), permissions=["change"])
    def unpublish(self, request, queryset):
        count = services.set_published(articles=queryset, published=False)
        self.message_user(
            request,
            ngettext("%(count)d article withdrawn.", "%(count)d articles withdrawn.", count) % {"count": count},
        )


class ReleaseAddForm(forms.ModelForm):
    """A new release: the file is stored, sized and hashed by `services.add_release`."""

    class Meta:
        model = Release
        fields = ("product", "version", "released_at", "notes", "file", "published")

    def clean_version(self):
        try:
            return services.clean_version(self.cleaned_data.get("version", ""))
        except ValidationFailed as error:
            raise forms.ValidationError([str(m) for m in error.fields.get("version", [error.message])]) from None


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ("product", "version", "released_at", "published", "size", "short_sha256", "downloads")
    list_filter = ("published", "released_at")
    list_select_related = ("product",)
    search_fields = ("version", "product__sku", "product__name")
    autocomplete_fields = ("product",)
    date_hierarchy = "released_at"
    ordering = ("-released_at", "-pk")
    readonly_fields = ("size", "sha256", "downloads")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ReleaseAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ReleaseAddForm.Meta.fields
        return ("product", "version", "file", "size", "sha256", "downloads", "released_at", "published", "notes")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        # The file and what identifies it stay as uploaded; a new file is a new version.
        return ("product", "version", "file", *self.readonly_fields)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        release = services.add_release(
            product=data["product"],
            version=data["version"],
            notes=data.get("notes", ""),
            uploaded_file=data["file"],
            released_at=data["released_at"],
            actor=request.user,
            published=data.get("published", True),
        )
        obj.pk, obj.file, obj.size, obj.sha256 = release.pk, release.file, release.size, release.sha256

    @admin.display(description=_("SHA-256"))
    def short_sha256(self, obj):
        return f"{obj.sha256[:12]}…" if obj.sha256 else "-"


@admin.register(Deflection)
class DeflectionAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Articles suggested to customers before a ticket, and what came of it (read-only)."""

    list_display = ("at", "customer", "query", "outcome", "helped_by", "case")
    list_filter = ("outcome", "at")
    list_select_related = ("customer", "helped_by", "case")
    search_fields = ("query", "customer__email")
    date_hierarchy = "at"
    change_list_template = "techsupport/kb/admin/deflection_change_list.html"

    def changelist_view(self, request, extra_context=None):
        now = timezone.now()
        extra_context = {
            **(extra_context or {}),
            "deflection": selectors.deflection_rate(now - timedelta(days=RATE_DAYS), now),
            "rate_days": RATE_DAYS,
        }
        return super().changelist_view(request, extra_context)
