"""Dashboard pages for cases, their timeline and the business calendar (follow-ups: `followup_pages`).

Configuration, not logic: a case's status, number, kind and deadline are read-only here and move
only through `services.transition`, posted from the buttons on the case page; cases are opened by
services, never added or deleted in the dashboard. The timeline, files, notices and ratings are
view-only.
"""

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models.functions import ExtractYear
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from aftersales.common.admin_site import QueueMixin, ViewOnlyMixin, brand
from aftersales.common.errors import DomainError

from .. import calendar, followups, services, workflow
from ..forms import FollowUpCallForm
from ..models import Attachment, BusinessDay, Case, CaseEvent, Feedback, Notification
from .followup_pages import FollowUpInline, form_errors_text

brand(admin.site)

NOTE_MAX_LENGTH = 5000


# --- Cases ---------------------------------------------------------------------------------


def _flow(case: Case) -> workflow.Workflow | None:
    try:
        return workflow.get(case.kind)
    except LookupError:
        return None


def staff_transitions(case: Case, user, *, own_steps: bool = False) -> list[workflow.Transition]:
    """The steps `user` may take on `case` from the dashboard now: those leaving its status that
    are neither the customer's own nor reserved to the system, and that the user holds the
    permission for. The kind's own step pages ask with `own_steps`; the generic buttons leave out
    the steps a kind's services own."""
    try:
        flow = workflow.get(case.kind)
    except LookupError:
        return []
    return [
        t
        for t in flow.transitions.values()
        if case.status in t.sources
        and t.allowed not in ("system", "customer")
        and (own_steps or workflow.generic_move_allowed(flow, t))
        and user.has_perm(t.allowed)
    ]


class StatusFilter(admin.SimpleListFilter):
    """Statuses of every registered kind (or of the kind chosen in the kind filter)."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        kind = request.GET.get("kind__exact")
        kinds = [kind] if kind in workflow.registered_kinds() else workflow.registered_kinds()
        labels: dict[str, str] = {}
        for k in kinds:
            for value, label in workflow.get(k).statuses.items():
                labels.setdefault(value, label)
        return list(labels.items())

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset


class DeadlineFilter(admin.SimpleListFilter):
    title = _("next deadline")
    parameter_name = "deadline"
    SOON = timedelta(hours=24)

    def lookups(self, request, model_admin):
        return [
            ("past", _("Passed")),
            ("soon", _("Within 24 hours")),
            ("later", _("Later")),
            ("none", _("No deadline")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        match self.value():
            case "past":
                return queryset.filter(deadline_at__lte=now)
            case "soon":
                return queryset.filter(deadline_at__gt=now, deadline_at__lte=now + self.SOON)
            case "later":
                return queryset.filter(deadline_at__gt=now + self.SOON)
            case "none":
                return queryset.filter(deadline_at__isnull=True)
        return queryset


class OpenClosedFilter(admin.SimpleListFilter):
    title = _("open or closed")
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("1", _("Open")), ("0", _("Closed"))]

    def queryset(self, request, queryset):
        if self.value() in ("0", "1"):
            return queryset.filter(closed_at__isnull=self.value() == "1")
        return queryset


def status_change(event: CaseEvent) -> str:
    if not event.to_status:
        return ""
    if event.from_status:
        return f"{event.from_status_label} → {event.to_status_label}"
    return event.to_status_label


class CaseEventInline(ViewOnlyMixin, admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    verbose_name = _("timeline event")
    verbose_name_plural = _("timeline")
    fields = ("at", "type", "actor_label", "change", "note", "public")
    readonly_fields = fields
    ordering = ("at", "id")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "case")

    @admin.display(description=_("by"))
    def actor_label(self, obj):
        return obj.actor_label

    @admin.display(description=_("status change"))
    def change(self, obj):
        return status_change(obj)


def attachment_thumbnail(obj: Attachment):
    if obj.purged_at:
        return format_html('<span title="{}">{}</span>', obj.original_name, _("Removed after the retention period"))
    url = reverse("portal:attachment-download", args=[obj.pk])
    return format_html(
        '<a href="{0}" target="_blank" rel="noopener"><img src="{0}" alt="{1}" width="96" loading="lazy"></a>',
        url,
        obj.original_name,
    )


class AttachmentInline(ViewOnlyMixin, admin.TabularInline):
    model = Attachment
    extra = 0
    can_delete = False
    fields = ("thumbnail", "original_name", "content_type", "size", "uploaded_by", "uploaded_at")
    readonly_fields = fields
    ordering = ("uploaded_at", "id")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")

    @admin.display(description=_("photo"))
    def thumbnail(self, obj):
        return attachment_thumbnail(obj)


@admin.register(Case)
class CaseAdmin(QueueMixin, admin.ModelAdmin):
    list_display = ("number", "kind", "status_label", "customer", "order", "opened_at", "deadline_at", "assignee")
    list_filter = ("kind", StatusFilter, DeadlineFilter, OpenClosedFilter, "opened_at")
    list_select_related = ("customer", "order", "assignee")
    search_fields = ("number", "customer__email", "order__number", "subject")
    autocomplete_fields = ("assignee",)
    # Everything the services own; only the subject and the assignee are edited in the form.
    readonly_fields = (
        "number",
        "kind",
        "status_label",
        "customer",
        "order",
        "opened_at",
        "closed_at",
        "deadline_at",
        "deadline_action_label",
        "version",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("number", "kind", "status_label", "customer", "order", "subject", "assignee")}),
        (_("Dates"), {"fields": ("opened_at", "closed_at", "deadline_at", "deadline_action_label", "updated_at")}),
        (_("Bookkeeping"), {"classes": ("collapse",), "fields": ("version",)}),
    )
    inlines = [CaseEventInline, AttachmentInline, FollowUpInline]

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, obj):
        return obj.get_status_display()

    @admin.display(description=_("at the deadline"))
    def deadline_action_label(self, obj):
        return obj.get_deadline_action_display() or "-"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Write only the fields the form may change, so a save can never put back a status (or a
        # version, or a deadline) that a concurrent transition has moved meanwhile.
        editable = [name for name in form.changed_data if name in form.fields]
        if change and editable:
            obj.save(update_fields=[*editable, "updated_at"])

    # The transition and note forms post to these views.
    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/transition/",
                self.admin_site.admin_view(require_POST(self.transition_view)),
                name="{}_{}_transition".format(*info),
            ),
            path(
                "<path:object_id>/note/",
                self.admin_site.admin_view(require_POST(self.note_view)),
                name="{}_{}_note".format(*info),
            ),
            path(
                "<path:object_id>/follow-up-call/",
                self.admin_site.admin_view(require_POST(self.follow_up_call_view)),
                name="{}_{}_follow_up_call".format(*info),
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        case = self.get_object(request, unquote(object_id))
        if case is not None:
            extra_context["case_transitions"] = staff_transitions(case, request.user)
            steps_url = getattr(_flow(case), "staff_steps_url", None)
            extra_context["case_steps_url"] = steps_url(case) if steps_url else ""
            extra_context["case_transition_url"] = self._url("transition", case)
            if request.user.has_perm("cases.add_caseevent"):
                extra_context["case_note_url"] = self._url("note", case)
            if request.user.has_perm("cases.add_followup"):
                extra_context["case_follow_up_call_url"] = self._url("follow_up_call", case)
                extra_context["follow_up_call_form"] = FollowUpCallForm(prefix="call")
                extra_context["case_feedback"] = Feedback.objects.filter(case=case).first()
        return super().change_view(request, object_id, form_url, extra_context)

    def _url(self, view: str, case: Case) -> str:
        return reverse(f"admin:cases_case_{view}", args=[case.pk], current_app=self.admin_site.name)

    def _case_for_post(self, request, object_id) -> Case:
        case = self.get_object(request, unquote(object_id))
        if case is None:
            raise Http404(_("No such case."))
        if not self.has_view_permission(request, case):
            raise PermissionDenied
        return case

    def _back(self, case: Case):
        return HttpResponseRedirect(self._url("change", case))

    def transition_view(self, request, object_id):
        case = self._case_for_post(request, object_id)
        # The version the page was rendered from: if the case moved since, the service's
        # compare-and-set refuses instead of acting on a state the user never saw.
        version = request.POST.get("version", "")
        if version.isdigit():
            case.version = int(version)
        note = request.POST.get("note", "").strip()[:NOTE_MAX_LENGTH]
        try:
            case = services.transition(
                case=case, name=request.POST.get("name", ""), actor=request.user, note=note, generic=True
            )
        except DomainError as error:
            self.message_user(request, str(error.message), messages.ERROR)
        else:
            self.message_user(
                request,
                _("Case %(number)s is now: %(status)s.") % {"number": case.number, "status": case.get_status_display()},
                messages.SUCCESS,
            )
        return self._back(case)

    def note_view(self, request, object_id):
        case = self._case_for_post(request, object_id)
        note = request.POST.get("note", "").strip()[:NOTE_MAX_LENGTH]
        if not note:
            self.message_user(request, _("The note is empty."), messages.ERROR)
            return self._back(case)
        public = request.POST.get("public") == "1"
        try:
            services.add_note(case=case, actor=request.user, note=note, public=public, generic=True)
        except DomainError as error:
            self.message_user(request, str(error.message), messages.ERROR)
        else:
            self.message_user(
                request,
                _("The note was added (shown to the customer).") if public else _("The internal note was added."),
                messages.SUCCESS,
            )
        return self._back(case)

    def follow_up_call_view(self, request, object_id):
        """R-FB-1: an agent logs a follow-up call (回访) from the case page."""
        case = self._case_for_post(request, object_id)
        if not request.user.has_perm("cases.add_followup"):
            raise PermissionDenied
        form = FollowUpCallForm(request.POST, prefix="call")
        if not form.is_valid():
            errors = form_errors_text(form)
            self.message_user(request, _("The call was not logged: %(errors)s") % {"errors": errors}, messages.ERROR)
            return self._back(case)
        try:
            followups.log_follow_up_call(case=case, actor=request.user, **form.cleaned_data)
        except DomainError as error:
            self.message_user(request, error.text, messages.ERROR)
        else:
            self.message_user(request, _("The follow-up call was logged."), messages.SUCCESS)
        return self._back(case)


# --- The timeline, files, notices and ratings: view only -----------------------------------


@admin.register(CaseEvent)
class CaseEventAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ("at", "case", "type", "actor", "change", "public", "short_note")
    list_filter = ("type", "public", "case__kind", "at")
    list_select_related = ("case", "actor")
    search_fields = ("case__number", "note", "actor__email")
    ordering = ("-at", "-id")

    @admin.display(description=_("status change"))
    def change(self, obj):
        return status_change(obj)

    @admin.display(description=_("note"))
    def short_note(self, obj):
        return obj.note if len(obj.note) <= 80 else obj.note[:79] + "…"


@admin.register(Attachment)
class AttachmentAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ("thumbnail", "original_name", "case", "content_type", "size", "dimensions", "uploaded_by")
    list_filter = ("content_type", "uploaded_at", "case__kind")
    list_select_related = ("case", "uploaded_by")
    search_fields = ("case__number", "original_name", "sha256")
    date_hierarchy = "uploaded_at"
    exclude = ("file",)  # the private file is reached only through the access-checked download view
    readonly_fields = ("thumbnail",)

    @admin.display(description=_("photo"))
    def thumbnail(self, obj):
        return attachment_thumbnail(obj)

    @admin.display(description=_("pixels"))
    def dimensions(self, obj):
        return f"{obj.width}×{obj.height}"


class IsNullFilter(admin.SimpleListFilter):
    field = ""

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(**{f"{self.field}__isnull": self.value() == "no"})
        return queryset


class ReadFilter(IsNullFilter):
    title = _("read")
    parameter_name = "read"
    field = "read_at"


class EmailedFilter(IsNullFilter):
    title = _("e-mailed")
    parameter_name = "emailed"
    field = "emailed_at"


@admin.register(Notification)
class NotificationAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "user", "case", "title", "read_at", "emailed_at")
    list_filter = (ReadFilter, EmailedFilter, "created_at")
    list_select_related = ("user", "case")
    search_fields = ("title", "user__email", "case__number")


@admin.register(Feedback)
class FeedbackAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ("case", "kind", "rating", "reason", "comment", "created_at")
    list_filter = ("rating", "reason", "case__kind", "created_at")
    list_select_related = ("case",)
    search_fields = ("case__number", "comment")
    date_hierarchy = "created_at"

    @admin.display(description=_("kind"), ordering="case__kind")
    def kind(self, obj):
        return obj.case.get_kind_display()


# --- The business calendar ------------------------------------------------------------------


class YearFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = (
            BusinessDay.objects.annotate(y=ExtractYear("date")).order_by("-y").values_list("y", flat=True).distinct()
        )
        return [(str(y), str(y)) for y in years]

    def queryset(self, request, queryset):
        return queryset.filter(date__year=int(self.value())) if (self.value() or "").isdigit() else queryset


@admin.register(BusinessDay)
class BusinessDayAdmin(admin.ModelAdmin):
    """Staff correct the calendar here; a saved day is marked "staff" and a re-sync keeps it."""

    list_display = ("date", "weekday", "is_working", "name", "source")
    list_filter = (YearFilter, "is_working", "source")
    search_fields = ("name",)
    date_hierarchy = "date"
    fields = ("date", "is_working", "name", "source")
    readonly_fields = ("source",)
    actions = ["resync_from_chinesecalendar"]
    list_per_page = 62

    @admin.display(description=_("weekday"))
    def weekday(self, obj):
        return date_format(obj.date, "D")

    def get_readonly_fields(self, request, obj=None):
        # The date is the row's key: a different date is a different day, added on its own.
        return ("date", *self.readonly_fields) if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        obj.source = BusinessDay.Source.STAFF
        super().save_model(request, obj, form, change)

    @admin.action(
        description=_("Re-sync every year chinesecalendar knows (days edited by staff are kept)"),
        permissions=["change"],
    )
    def resync_from_chinesecalendar(self, request, queryset):
        written = calendar.sync_from_chinesecalendar()
        self.message_user(
            request,
            ngettext(
                "%(count)d day was written from chinesecalendar.",
                "%(count)d days were written from chinesecalendar.",
                written,
            )
            % {"count": written},
            messages.SUCCESS,
        )
        missing = calendar.warn_if_years_missing()
        if missing:
            self.message_user(
                request,
                _("Still missing after the sync: %(years)s.") % {"years": ", ".join(map(str, missing))},
                messages.WARNING,
            )
