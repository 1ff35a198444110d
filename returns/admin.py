"""Dashboard: the shop's return settings (edited without a deploy) and the returns queue.

Configuration, not logic: a return request is read-only here. Staff act on it with the step forms
on its page (approve, reject, receive, inspect) and the "Approve selected" bulk action; each posts
to a view that calls the matching `returns.services` function, which checks the permission and the
status and moves the case. Refusals are shown as messages, never as an error page.
"""

from decimal import Decimal, InvalidOperation

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from aftersales.cases.admin import attachment_thumbnail, staff_transitions
from aftersales.cases.models import CaseKind
from aftersales.common.admin_site import QueueMixin, SingleRowSettingsMixin, ViewOnlyMixin, case_status_filter
from aftersales.common.errors import DomainError, ValidationFailed

from . import selectors, services
from . import workflow as returns_workflow
from .models import ReturnLine, ReturnRequest, ReturnSettings
from .policy import Condition

NOTE_MAX_LENGTH = 5000
STAFF_PERMISSION = "cases.change_case"
# The dashboard's step forms, and the workflow transitions each one takes.
STEPS = {
    "approve": ("approve",),
    "reject": ("reject",),
    "receive": ("receive",),
    "inspect": ("pass_inspection", "fail_inspection"),
    "ship": ("ship_replacement",),
    "send_back": ("send_back",),
    "requeue_refund": ("requeue_refund",),
    "close_without_refund": ("close_without_refund",),
    # Not a transition: recorded while the exchange waits between inspection and shipping.
    "difference_paid": (),
}


@admin.register(ReturnSettings)
class ReturnSettingsAdmin(SingleRowSettingsMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "auto_approve_limit",
        "ship_deadline_days",
        "inspection_business_days",
        "free_returns_per_year",
    )


class ReturnLineInline(ViewOnlyMixin, admin.TabularInline):
    model = ReturnLine
    fields = ("order_line", "quantity")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_line")


# --- Queue filters --------------------------------------------------------------------------------


CaseStatusFilter = case_status_filter(returns_workflow.STATUSES)


class CaseKindFilter(admin.SimpleListFilter):
    """Only the kinds a return request can be."""

    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(kind, CaseKind(kind).label) for kind in selectors.RETURN_KINDS]

    def queryset(self, request, queryset):
        return queryset.filter(case__kind=self.value()) if self.value() else queryset


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Deadline passed")), ("no", _("Not overdue"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(case__deadline_at__lte=now)
        if self.value() == "no":
            return queryset.exclude(case__deadline_at__lte=now)
        return queryset


def _amount(raw, field: str) -> Decimal:
    """A money amount typed into a step form, or a field error."""
    try:
        amount = Decimal((raw or "").strip())
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise ValidationFailed(fields={field: [_("Enter an amount, e.g. 20.00.")]})
    return amount


def _local(moment):
    """A moment in the shop's time zone, formatted for the active language ("-" when unset)."""
    return formats.localize(timezone.localtime(moment)) if moment else "-"


# --- The queue and the request page -----------------------------------------------------------------


@admin.register(ReturnRequest)
class ReturnRequestAdmin(QueueMixin, ViewOnlyMixin, admin.ModelAdmin):
    """Requests are written by the returns services; staff act on them through the step forms."""

    list_display = (
        "case_number",
        "kind",
        "status_label",
        "reason",
        "customer",
        "order",
        "refund_estimate",
        "return_shipping_paid_by",
        "auto_approved",
        "opened_at",
        "deadline_at",
        "overdue",
    )
    list_display_links = ("case_number",)
    list_filter = (
        CaseStatusFilter,
        CaseKindFilter,
        "reason",
        "auto_approved",
        OverdueFilter,
        "return_shipping_paid_by",
    )
    search_fields = ("case__number", "case__customer__email", "case__order__number", "tracking_number")
    list_select_related = ("case", "case__customer", "case__order")
    # Open requests first, the oldest at the top; closed ones after them.
    ordering = (F("case__closed_at").asc(nulls_first=True), "case__opened_at", "case_id")
    actions = ["approve_selected"]
    inlines = [ReturnLineInline]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "case_link",
                    "kind",
                    "status_label",
                    "customer",
                    "order_link",
                    "reason",
                    "description",
                    "declared_condition",
                    "exchange_product",
                    "report_link",
                    "report_valid_until",
                )
            },
        ),
        (_("Photos"), {"fields": ("photos",)}),
        (_("Policy verdict now"), {"fields": ("policy_verdict",)}),
        (_("Customer history"), {"fields": ("customer_history",)}),
        (
            _("Money and shipping"),
            {
                "fields": (
                    "refund_estimate",
                    "deductions",
                    "refund_due",
                    "amount_due",
                    "amount_due_paid_at",
                    "return_shipping_paid_by",
                    "auto_approved",
                    "ship_by",
                    "carrier",
                    "tracking_number",
                    "shipped_at",
                    "received_at",
                    "inspection_notes",
                    "outbound_carrier",
                    "outbound_tracking_number",
                    "outbound_shipped_at",
                )
            },
        ),
        (_("Dates"), {"fields": ("opened_at", "deadline_at", "overdue")}),
    )
    readonly_fields = (
        "case_link",
        "kind",
        "status_label",
        "customer",
        "order_link",
        "reason",
        "description",
        "declared_condition",
        "exchange_product",
        "report_link",
        "report_valid_until",
        "photos",
        "policy_verdict",
        "customer_history",
        "refund_estimate",
        "deductions",
        "refund_due",
        "amount_due",
        "amount_due_paid_at",
        "return_shipping_paid_by",
        "auto_approved",
        "ship_by",
        "carrier",
        "tracking_number",
        "shipped_at",
        "received_at",
        "inspection_notes",
        "outbound_carrier",
        "outbound_tracking_number",
        "outbound_shipped_at",
        "opened_at",
        "deadline_at",
        "overdue",
    )

    # --- columns and read-only fields

    @admin.display(description=_("case"), ordering="case__number")
    def case_number(self, obj):
        return obj.case.number

    @admin.display(description=_("case"))
    def case_link(self, obj):
        url = reverse("admin:cases_case_change", args=[obj.case_id], current_app=self.admin_site.name)
        return format_html('<a href="{}">{}</a>', url, obj.case.number)

    @admin.display(description=_("kind"), ordering="case__kind")
    def kind(self, obj):
        return obj.case.get_kind_display()

    @admin.display(description=_("status"), ordering="case__status")
    def status_label(self, obj):
        return obj.case.get_status_display()

    @admin.display(description=_("customer"), ordering="case__customer__email")
    def customer(self, obj):
        return obj.case.customer

    @admin.display(description=_("order"), ordering="case__order__number")
    def order(self, obj):
        return obj.case.order

    @admin.display(description=_("order"))
    def order_link(self, obj):
        order = obj.case.order
        if order is None:
            return "-"
        try:
            url = reverse("admin:orders_order_change", args=[order.pk], current_app=self.admin_site.name)
        except NoReverseMatch:
            return order.number
        return format_html('<a href="{}">{}</a>', url, order.number)

    @admin.display(description=_("opened"), ordering="case__opened_at")
    def opened_at(self, obj):
        return _local(obj.case.opened_at)

    @admin.display(description=_("next deadline"), ordering="case__deadline_at")
    def deadline_at(self, obj):
        return _local(obj.case.deadline_at)

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, obj):
        return obj.case.deadline_at is not None and obj.case.deadline_at <= timezone.now()

    @admin.display(description=_("refund due"))
    def refund_due(self, obj):
        return services.refund_due(obj)

    @admin.display(description=_("declared condition"))
    def declared_condition(self, obj):
        """R-RET-6: what the customer declared, one line per question, in words."""
        if not obj.condition:
            return "-"
        labels = dict(Condition.choices)
        return format_html_join(
            "",
            "<div>{}: <strong>{}</strong></div>",
            ((labels.get(flag, flag), _("yes") if value else _("no")) for flag, value in obj.condition.items()),
        )

    @admin.display(description=_("service-centre inspection report"))
    def report_link(self, obj):
        return attachment_thumbnail(obj.report) if obj.report_id else "-"

    @admin.display(description=_("photos"))
    def photos(self, obj):
        attachments = list(obj.case.attachments.order_by("uploaded_at", "id"))
        if not attachments:
            return _("No photos.")
        return format_html_join(" ", "{}", ((attachment_thumbnail(a),) for a in attachments))

    @admin.display(description=_("earlier requests"))
    def customer_history(self, obj):
        earlier = (
            ReturnRequest.objects.filter(
                case__customer_id=obj.case.customer_id, case__opened_at__lte=obj.case.opened_at
            )
            .exclude(pk=obj.pk)
            .values_list("case__status", flat=True)
        )
        statuses = list(earlier)
        rejected = sum(1 for s in statuses if s == "rejected")
        failed = sum(1 for s in statuses if s == "inspection_failed")
        return _("%(total)d earlier return requests; %(rejected)d rejected, %(failed)d failed inspection.") % {
            "total": len(statuses),
            "rejected": rejected,
            "failed": failed,
        }

    @admin.display(description=_("policy verdict"))
    def policy_verdict(self, obj):
        rows = self.verdict_rows(obj)
        if not rows:
            return "-"
        return format_html(
            "<ul class='return-verdict' style='margin:0;padding-left:1.2em'>{}</ul>",
            format_html_join(
                "",
                "<li class='verdict-{}'>{} ×{}: {}</li>",
                ((row["state"], row["line"], row["quantity"], row["text"]) for row in rows),
            ),
        )

    def verdict_rows(self, obj) -> list[dict]:
        """The policy's verdict on the request's lines (selectors.request_verdicts), as text."""
        rows = []
        for line, quantity, option, refusal in selectors.request_verdicts(obj):
            if refusal is not None:
                state = "refused"
                text = _("refused (%(rule)s): %(message)s") % {"rule": refusal.rule, "message": refusal.message}
            elif option is not None:
                until = (
                    timezone.localtime(option.open_until).strftime("%Y-%m-%d %H:%M")
                    if option.open_until
                    else _("no fixed end")
                )
                state, text = "open", _("open until %(until)s") % {"until": until}
            else:
                state, text = "refused", _("this reason does not go with this kind of request")
            rows.append({"state": state, "line": line.product_name, "quantity": quantity, "text": text})
        return rows

    # --- the step forms

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                f"<path:object_id>/{step}/",
                self.admin_site.admin_view(require_POST(self.step_view)),
                {"step": step},
                name="{}_{}_{}".format(*info, step),
            )
            for step in STEPS
        ] + super().get_urls()

    def _url(self, view: str, obj) -> str:
        info = self.opts.app_label, self.opts.model_name
        return reverse("admin:{}_{}_{}".format(*info, view), args=[obj.pk], current_app=self.admin_site.name)

    def staff_steps(self, obj, user) -> list[str]:
        """The step forms to show: those whose transition leaves the case's status now and that
        the user may take."""
        names = {t.name for t in staff_transitions(obj.case, user, own_steps=True)}
        steps = [step for step, transitions in STEPS.items() if names.intersection(transitions)]
        if services.difference_unpaid(obj) and obj.case.closed_at is None and user.has_perm(STAFF_PERMISSION):
            steps.append("difference_paid")
        return steps

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            steps = {step: self._url(step, obj) for step in self.staff_steps(obj, request.user)}
            extra_context["return_steps"] = steps
            extra_context["shipment_steps"] = [
                (steps[step], title, (step, button))
                for step, title, button in (
                    ("ship", _("Ship the replacement"), _("Replacement shipped")),
                    ("send_back", _("Send the goods back to the customer (R-RET-11)"), _("Goods sent back")),
                )
                if step in steps
            ]
            extra_context["return_case"] = obj.case
            extra_context["return_request"] = obj
            extra_context["refund_due"] = services.refund_due(obj)
            extra_context["case_change_url"] = reverse(
                "admin:cases_case_change", args=[obj.case_id], current_app=self.admin_site.name
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def step_view(self, request, object_id, step):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(_("No such return request."))
        if not self.has_view_permission(request, obj) or not request.user.has_perm(STAFF_PERMISSION):
            raise PermissionDenied
        case = obj.case
        # The version the page was rendered from: if the case moved since, the service refuses.
        version = request.POST.get("version", "")
        if version.isdigit():
            case.version = int(version)
        note = request.POST.get("note", "").strip()[:NOTE_MAX_LENGTH]
        try:
            case = self._take_step(step, case, request, note)
        except DomainError as error:
            self.message_user(request, error.text, messages.ERROR)
        else:
            self.message_user(
                request,
                _("Case %(number)s is now: %(status)s.") % {"number": case.number, "status": case.get_status_display()},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(self._url("change", obj))

    def _take_step(self, step, case, request, note):
        actor = request.user
        if step == "approve":
            return services.approve(case=case, actor=actor, note=note)
        if step == "reject":
            return services.reject(case=case, actor=actor, reason_text=request.POST.get("reason", "")[:NOTE_MAX_LENGTH])
        if step == "receive":
            return services.receive(case=case, actor=actor)
        if step in ("ship", "send_back"):
            take = services.ship_replacement if step == "ship" else services.send_back
            return take(
                case=case,
                actor=actor,
                carrier=request.POST.get("carrier", ""),
                tracking_number=request.POST.get("tracking_number", ""),
            )
        if step == "requeue_refund":
            return services.requeue_refund(
                case=case, actor=actor, amount=_amount(request.POST.get("amount"), "amount"), note=note
            )
        if step == "close_without_refund":
            return services.close_without_refund(
                case=case, actor=actor, reason_text=request.POST.get("reason", "")[:NOTE_MAX_LENGTH]
            )
        if step == "difference_paid":
            return services.record_difference_paid(
                case=case, actor=actor, reference=request.POST.get("reference", "")[:200]
            )
        passed = request.POST.get("passed")
        if passed not in ("1", "0"):
            raise ValidationFailed(fields={"passed": [_("Say whether the inspection passed.")]})
        deductions = _amount(request.POST.get("deductions", "").strip() or "0", "deductions")
        return services.inspect(
            case=case,
            actor=actor,
            passed=passed == "1",
            notes=request.POST.get("notes", "")[:NOTE_MAX_LENGTH],
            deductions=deductions,
        )

    # --- bulk approve

    def has_approve_permission(self, request):
        return request.user.has_perm(STAFF_PERMISSION)

    @admin.action(description=_("Approve selected"), permissions=["approve"])
    def approve_selected(self, request, queryset):
        approved, refused = 0, []
        for obj in queryset.select_related("case").order_by("case__opened_at", "case_id"):
            try:
                services.approve(case=obj.case, actor=request.user)
            except DomainError as error:
                refused.append(f"{obj.case.number}: {error.text}")
            else:
                approved += 1
        self.message_user(
            request,
            ngettext("%(count)d request was approved.", "%(count)d requests were approved.", approved)
            % {"count": approved},
            messages.SUCCESS if approved else messages.INFO,
        )
        if refused:
            self.message_user(
                request,
                ngettext(
                    "%(count)d request was not approved: %(list)s",
                    "%(count)d requests were not approved: %(list)s",
                    len(refused),
                )
                % {"count": len(refused), "list": "; ".join(refused)},
                messages.WARNING,
            )
