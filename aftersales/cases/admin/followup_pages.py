"""Dashboard pages for R-FB-1 follow-ups: supervisor tasks opened by low ratings and logged calls.

Rows are written by `aftersales.cases.followups` only: the change page's forms complete or hand over
an open follow-up through its services; calls are logged from the case's page (`CaseAdmin`).
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from aftersales.common.admin_site import ViewOnlyMixin
from aftersales.common.errors import DomainError

from .. import followups
from ..forms import AssignFollowUpForm, CompleteFollowUpForm
from ..models import FollowUp


def form_errors_text(form) -> str:
    return " ".join(str(m) for field_errors in form.errors.values() for m in field_errors)


class FollowUpInline(ViewOnlyMixin, admin.TabularInline):
    model = FollowUp
    extra = 0
    can_delete = False
    fields = ("kind", "created_at", "due_at", "assignee", "done_at", "done_by", "outcome")
    readonly_fields = fields
    show_change_link = True
    ordering = ("created_at", "id")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("case", "assignee", "done_by")


class FollowUpStateFilter(admin.SimpleListFilter):
    title = _("open or done")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", _("Open")), ("overdue", _("Overdue")), ("done", _("Done"))]

    def queryset(self, request, queryset):
        match self.value():
            case "open":
                return queryset.filter(done_at__isnull=True)
            case "overdue":
                return queryset.filter(done_at__isnull=True, due_at__lte=timezone.now())
            case "done":
                return queryset.filter(done_at__isnull=False)
        return queryset


def _shorten(text: str, length: int = 80) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


@admin.register(FollowUp)
class FollowUpAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ("state", "due_at", "case_link", "kind", "assignee", "rating", "rating_comment", "created_at")
    list_display_links = ("state",)
    list_filter = (FollowUpStateFilter, "kind", "case__kind")
    list_select_related = ("case", "feedback", "assignee")
    search_fields = ("case__number", "reason", "outcome", "feedback__comment")
    # Open first (soonest due first), then the done ones, latest first.
    ordering = (F("done_at").desc(nulls_first=True), F("due_at").asc(nulls_last=True), "created_at")
    fields = (
        "case_link",
        "kind",
        "state",
        "reason",
        "rating",
        "rating_reason",
        "rating_comment",
        "created_at",
        "due_at",
        "assignee",
        "done_at",
        "done_by",
        "outcome",
    )
    readonly_fields = fields

    @admin.display(description=_("state"))
    def state(self, obj):
        if obj.done_at:
            return _("Done")
        if obj.due_at and obj.due_at <= timezone.now():
            return _("Overdue")
        return _("Open")

    @admin.display(description=_("case"), ordering="case__number")
    def case_link(self, obj):
        url = reverse("admin:cases_case_change", args=[obj.case_id], current_app=self.admin_site.name)
        return format_html('<a href="{}">{}</a>', url, obj.case.number)

    @admin.display(description=_("rating"), ordering="feedback__rating")
    def rating(self, obj):
        return f"{obj.feedback.rating}/5" if obj.feedback_id else "–"

    @admin.display(description=_("what mattered most"))
    def rating_reason(self, obj):
        return obj.feedback.get_reason_display() if obj.feedback_id else "–"

    @admin.display(description=_("comment"))
    def rating_comment(self, obj):
        return _shorten(obj.feedback.comment) if obj.feedback_id else ""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/complete/",
                self.admin_site.admin_view(require_POST(self.complete_view)),
                name="{}_{}_complete".format(*info),
            ),
            path(
                "<path:object_id>/assign/",
                self.admin_site.admin_view(require_POST(self.assign_view)),
                name="{}_{}_assign".format(*info),
            ),
            *super().get_urls(),
        ]

    def _url(self, view: str, follow_up: FollowUp) -> str:
        return reverse(f"admin:cases_followup_{view}", args=[follow_up.pk], current_app=self.admin_site.name)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        follow_up = self.get_object(request, unquote(object_id))
        if follow_up is not None and follow_up.done_at is None and request.user.has_perm("cases.change_followup"):
            extra_context["complete_url"] = self._url("complete", follow_up)
            extra_context["complete_form"] = CompleteFollowUpForm(prefix="complete")
            extra_context["assign_url"] = self._url("assign", follow_up)
            extra_context["assign_form"] = AssignFollowUpForm(
                prefix="assign", initial={"assignee": follow_up.assignee_id}
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def _follow_up_for_post(self, request, object_id) -> FollowUp:
        follow_up = self.get_object(request, unquote(object_id))
        if follow_up is None:
            raise Http404(_("No such follow-up."))
        if not request.user.has_perm("cases.change_followup"):
            raise PermissionDenied
        return follow_up

    def _form_error(self, request, form) -> None:
        self.message_user(request, form_errors_text(form), messages.ERROR)

    def complete_view(self, request, object_id):
        follow_up = self._follow_up_for_post(request, object_id)
        form = CompleteFollowUpForm(request.POST, prefix="complete")
        if not form.is_valid():
            self._form_error(request, form)
        else:
            try:
                followups.complete_follow_up(follow_up=follow_up, actor=request.user, **form.cleaned_data)
            except DomainError as error:
                self.message_user(request, error.text, messages.ERROR)
            else:
                self.message_user(request, _("The follow-up is done."), messages.SUCCESS)
        return HttpResponseRedirect(self._url("change", follow_up))

    def assign_view(self, request, object_id):
        follow_up = self._follow_up_for_post(request, object_id)
        form = AssignFollowUpForm(request.POST, prefix="assign")
        if not form.is_valid():
            self._form_error(request, form)
        else:
            try:
                follow_up = followups.assign_follow_up(
                    follow_up=follow_up, actor=request.user, assignee=form.cleaned_data["assignee"]
                )
            except DomainError as error:
                self.message_user(request, error.text, messages.ERROR)
            else:
                self.message_user(request, _("The follow-up was handed over."), messages.SUCCESS)
        return HttpResponseRedirect(self._url("change", follow_up))
