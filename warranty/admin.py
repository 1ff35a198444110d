"""Dashboard: the shop's warranty settings, service centres and accessories (configuration), and the
technicians' repair board.

Configuration, not logic: a claim is read-only here. The board (the claims' changelist) shows each
unit's turnaround against the target; staff act on a claim with the step forms on its page (accept,
receive, diagnose, add parts, repaired, quality check, ship back, payment, appeal, ship an accessory),
each posting to a view that calls the matching `warranty.services` function, which checks the
permission and the status and moves the case. Refusals are shown as messages, never as an error page.
"""

from datetime import datetime

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from aftersales.cases.admin import attachment_thumbnail, staff_transitions
from aftersales.common.admin_site import QueueMixin, SingleRowSettingsMixin, ViewOnlyMixin, case_status_filter
from aftersales.common.errors import DomainError, NotAllowed, TransitionConflict, ValidationFailed

from . import selectors, services
from . import workflow as warranty_workflow
from .models import Accessory, CentreClosure, Claim, PartUsed, ServiceCentre, WarrantySettings
from .policy import Diagnosis, Document, Exclusion, ServiceMode

NOTE_MAX_LENGTH = 5000
STAFF_PERMISSION = warranty_workflow.STAFF
# The dashboard's step forms, and the workflow transitions each one takes (or, for a form that takes
# none, the transition whose permission and status it needs).
STEPS = {
    "accept": ("accept",),
    "book_visit": ("book_visit",),
    "reject": ("reject",),
    "receive": ("receive",),
    "start_diagnosis": ("start_diagnosis",),
    "diagnose": ("diagnose_covered", "diagnose_excluded", "diagnose_irreparable"),
    # Not a transition: parts are recorded while the repair is under way (`services.add_part`).
    "add_part": ("repaired",),
    "repaired": ("repaired",),
    "fail_quality_check": ("fail_quality_check",),
    "ship_back": ("ship_back",),
    "ship_back_unrepaired": ("ship_back_unrepaired",),
    "decide_appeal": ("overturn", "uphold"),
    "ship_accessory": ("ship_accessory",),
    # Not a transition: recorded while a paid repair waits to ship back (a paid accessory then moves on
    # to shipping, R-WAR-6).
    "record_payment": (),
}


@admin.register(WarrantySettings)
class WarrantySettingsAdmin(SingleRowSettingsMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "ship_in_days",
        "turnaround_business_days",
        "long_repair_days",
        "repairs_before_replacement",
        "extend_by_repair_days",
    )


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

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("added_by")


# --- Board filters -----------------------------------------------------------------------------------


CaseStatusFilter = case_status_filter(warranty_workflow.STATUSES)


class WorkshopFilter(admin.SimpleListFilter):
    title = _("workshop")
    parameter_name = "workshop"

    def lookups(self, request, model_admin):
        return [("yes", _("In the workshop")), ("no", _("Not in the workshop"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(case__status__in=warranty_workflow.IN_WORKSHOP)
        if self.value() == "no":
            return queryset.exclude(case__status__in=warranty_workflow.IN_WORKSHOP)
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    """Past the turnaround target: the database narrows by a received_at threshold on the shop's
    calendar, the centres' closed days then decide for those candidates (`selectors.overdue_ids`)."""

    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Past the turnaround target")), ("no", _("Not overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=selectors.overdue_ids(queryset))
        if self.value() == "no":
            return queryset.exclude(pk__in=selectors.overdue_ids(queryset))
        return queryset


class AppealFilter(admin.SimpleListFilter):
    title = _("appeal")
    parameter_name = "appeal"

    def lookups(self, request, model_admin):
        return [("waiting", _("Awaiting a supervisor")), ("decided", _("Decided"))]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(case__status="appealed")
        if self.value() == "decided":
            return queryset.filter(appealed_at__isnull=False).exclude(case__status="appealed")
        return queryset


def _local(moment):
    """A moment in the shop's time zone, formatted for the active language ("-" when unset)."""
    return formats.localize(timezone.localtime(moment)) if moment else "-"


def _visit_time(raw: str) -> datetime | None:
    """A `datetime-local` input (2025-05-01T14:30), in the shop's time zone; None when unreadable."""
    try:
        moment = datetime.fromisoformat((raw or "").strip())
    except ValueError:
        return None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _quantity(raw: str):
    """A typed quantity as an int; anything else goes to the service as typed, which refuses it."""
    raw = (raw or "").strip()
    return int(raw) if raw.isdecimal() else raw


class RepairBoard(ChangeList):
    """The page's rows carry their turnaround, counted for all of them at once (no query per row)."""

    def get_results(self, request):
        super().get_results(request)
        self.turnaround_target = target = selectors.turnaround_target()
        days = selectors.turnarounds(self.result_list)  # evaluates the page's rows once, cached
        for claim in self.result_list:
            claim.turnaround = (days.get(claim.pk), target)


# --- The repair board and the claim page ------------------------------------------------------------


@admin.register(Claim)
class ClaimAdmin(QueueMixin, ViewOnlyMixin, admin.ModelAdmin):
    """Claims are written by the warranty services; staff act on them through the step forms."""

    list_display = (
        "case_number",
        "customer",
        "product",
        "fault",
        "status_label",
        "centre",
        "received_on",
        "turnaround_column",
        "amount_due_column",
        "replacement_offered",
    )
    list_display_links = ("case_number",)
    list_filter = (
        CaseStatusFilter,
        WorkshopFilter,
        OverdueFilter,
        AppealFilter,
        "centre",
        "fault",
        "diagnosis",
    )
    search_fields = (
        "case__number",
        "case__customer__email",
        "case__order__number",
        "unit__serial_number",
        "tracking_number",
        "outbound_tracking_number",
    )
    # Open claims first, the unit that arrived first at the top (not yet arrived after those).
    ordering = (
        F("case__closed_at").asc(nulls_first=True),
        F("received_at").asc(nulls_last=True),
        "case__opened_at",
        "pk",
    )
    inlines = [PartUsedInline]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "case_link",
                    "status_label",
                    "customer",
                    "order_link",
                    "product",
                    "unit",
                    "fault",
                    "description",
                    "accessory",
                    "accessory_price",
                    "mode",
                    "centre",
                    "visit_at",
                    "coverage_ends_at",
                )
            },
        ),
        (_("Documents"), {"fields": ("documents_list", "missing_documents_list")}),
        (_("Photos"), {"fields": ("photos",)}),
        (
            _("Diagnosis"),
            {
                "fields": (
                    "diagnosis",
                    "diagnosis_notes",
                    "exclusion",
                    "exclusion_explanation",
                    "quote_amount",
                    "quote_accepted_at",
                    "appealed_at",
                    "appeal_text",
                )
            },
        ),
        (_("Money"), {"fields": ("amount_due", "amount_due_paid_at")}),
        (
            _("Milestones"),
            {
                "fields": (
                    "opened_at",
                    "carrier",
                    "tracking_number",
                    "received_at",
                    "turnaround_column",
                    "diagnosed_at",
                    "repaired_at",
                    "qc_passed_at",
                    "outbound_carrier",
                    "outbound_tracking_number",
                    "shipped_back_at",
                    "repair_days",
                    "replacement_offered_at",
                    "handed_over_link",
                    "replaced_by_link",
                )
            },
        ),
    )
    readonly_fields = tuple(field for _title, options in fieldsets for field in options["fields"])

    def get_queryset(self, request):
        # Everything the board's columns and the claim page read, in the one query (the admin skips
        # `list_select_related` once the queryset selects anything).
        return (
            super()
            .get_queryset(request)
            .select_related(
                "case__customer", "order_line__order", "centre", "unit", "handed_over_to", "accessory", "replaced_by"
            )
        )

    def get_changelist(self, request, **kwargs):
        return RepairBoard

    # --- columns and read-only fields

    @admin.display(description=_("case"), ordering="case__number")
    def case_number(self, obj):
        return obj.case.number

    @admin.display(description=_("case"))
    def case_link(self, obj):
        url = reverse("admin:cases_case_change", args=[obj.case_id], current_app=self.admin_site.name)
        return format_html('<a href="{}">{}</a>', url, obj.case.number)

    @admin.display(description=_("status"), ordering="case__status")
    def status_label(self, obj):
        return format_html(
            '<span class="case-status status-{}">{}</span>', obj.case.status, obj.case.get_status_display()
        )

    @admin.display(description=_("customer"), ordering="case__customer__email")
    def customer(self, obj):
        return obj.case.customer

    @admin.display(description=_("product"), ordering="order_line__product_name")
    def product(self, obj):
        return obj.order_line.product_name

    @admin.display(description=_("order"))
    def order_link(self, obj):
        order = obj.order_line.order
        try:
            url = reverse("admin:orders_order_change", args=[order.pk], current_app=self.admin_site.name)
        except NoReverseMatch:
            return order.number
        return format_html('<a href="{}">{}</a>', url, order.number)

    @admin.display(description=_("received"), ordering="received_at")
    def received_on(self, obj):
        return formats.date_format(timezone.localdate(obj.received_at)) if obj.received_at else "-"

    @admin.display(description=_("opened"))
    def opened_at(self, obj):
        return _local(obj.case.opened_at)

    def _turnaround(self, obj) -> tuple[int | None, int]:
        """(business days with us, target): counted for the whole page by the board, else here."""
        if hasattr(obj, "turnaround"):
            return obj.turnaround
        return selectors.turnarounds([obj]).get(obj.pk), selectors.turnaround_target()

    @admin.display(description=_("turnaround (business days)"), ordering="received_at")
    def turnaround_column(self, obj):
        days, target = self._turnaround(obj)
        if days is None:
            return "-"
        if selectors.is_overdue(obj, days, target):
            return format_html(
                '<strong class="turnaround overdue">{} / {}</strong> <span class="overdue-flag">{}</span>',
                days,
                target,
                _("overdue"),
            )
        return format_html('<span class="turnaround">{} / {}</span>', days, target)

    @admin.display(description=_("amount due"), ordering="amount_due")
    def amount_due_column(self, obj):
        if obj.amount_due <= 0:
            return "-"
        state = _("paid") if obj.amount_due_paid_at else _("unpaid")
        return format_html("{} ({})", obj.amount_due, state)

    @admin.display(description=_("replacement offered"), boolean=True, ordering="replacement_offered_at")
    def replacement_offered(self, obj):
        return obj.replacement_offered_at is not None

    @admin.display(description=_("documents the customer has"))
    def documents_list(self, obj):
        documents = obj.documents or {}
        has = [Document(doc).label for doc in Document.values if documents.get(doc)]
        return format_html_join(", ", "{}", ((label,) for label in has)) if has else "-"

    @admin.display(description=_("missing documents"))
    def missing_documents_list(self, obj):
        missing = [Document(doc).label for doc in Document.values if doc in (obj.missing_documents or [])]
        if not missing:
            return _("None missing.")
        return format_html_join(", ", "<strong>{}</strong>", ((label,) for label in missing))

    @admin.display(description=_("photos"))
    def photos(self, obj):
        attachments = list(obj.case.attachments.order_by("uploaded_at", "id"))
        if not attachments:
            return _("No photos.")
        return format_html_join(" ", "{}", ((attachment_thumbnail(a),) for a in attachments))

    @admin.display(description=_("replacement or refund case"))
    def handed_over_link(self, obj):
        if obj.handed_over_to_id is None:
            return "-"
        url = reverse("admin:cases_case_change", args=[obj.handed_over_to_id], current_app=self.admin_site.name)
        return format_html('<a href="{}">{}</a>', url, obj.handed_over_to.number)

    @admin.display(description=_("unit replaced by"))
    def replaced_by_link(self, obj):
        """R-WAR-9: the unit was replaced since; this claim no longer counts towards its repairs."""
        if obj.replaced_by_id is None:
            return "-"
        url = reverse("admin:cases_case_change", args=[obj.replaced_by_id], current_app=self.admin_site.name)
        return format_html('<a href="{}">{}</a>', url, obj.replaced_by.number)

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
        """The step forms to show: those whose transition leaves the case's status now and that the
        user may take (accepting as the claim's service mode asks), and the payment while a paid
        repair or accessory is unpaid."""
        names = {t.name for t in staff_transitions(obj.case, user, own_steps=True)}
        # R-WAR-5: a claim is accepted the way the customer asked to be served (sent in or visited).
        names.discard("book_visit" if obj.mode != ServiceMode.ON_SITE else "accept")
        steps = [step for step, transitions in STEPS.items() if names.intersection(transitions)]
        unpaid = obj.amount_due > 0 and obj.amount_due_paid_at is None
        if unpaid and obj.case.closed_at is None and user.has_perm(STAFF_PERMISSION):
            steps.append("record_payment")
        return steps

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            steps = {step: self._url(step, obj) for step in self.staff_steps(obj, request.user)}
            extra_context.update(
                claim=obj,
                claim_case=obj.case,
                claim_steps=steps,
                claim_parts=list(obj.parts.all()) if "add_part" in steps else [],
                outcomes=Diagnosis.choices,
                exclusions=Exclusion.choices,
                visit_min=timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                case_change_url=reverse(
                    "admin:cases_case_change", args=[obj.case_id], current_app=self.admin_site.name
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def step_view(self, request, object_id, step):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(_("No such warranty claim."))
        if not self.has_view_permission(request, obj) or not request.user.has_perm(STAFF_PERMISSION):
            raise PermissionDenied
        case = obj.case
        try:
            # The version the page was rendered from: if the case moved since, nothing is done (the
            # transitions' compare-and-set also catches a move between this check and the write).
            if request.POST.get("version", "") != str(case.version):
                raise TransitionConflict()
            message = self._take_step(step, obj, request)
        except DomainError as error:
            self.message_user(request, error.text, messages.ERROR)
        else:
            self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(self._url("change", obj))

    def _take_step(self, step, claim, request) -> str:
        """Call the step's service; the success message."""
        case, actor, post = claim.case, request.user, request.POST
        note = post.get("note", "").strip()[:NOTE_MAX_LENGTH]
        notes = post.get("notes", "")[:NOTE_MAX_LENGTH]
        shipment = {"carrier": post.get("carrier", ""), "tracking_number": post.get("tracking_number", "")}
        if step == "add_part":
            part = services.add_part(
                case=case,
                actor=actor,
                name=post.get("name", ""),
                quantity=_quantity(post.get("quantity", "")),
                unit_price=post.get("unit_price", "").strip() or None,
            )
            return _("Part recorded: %(part)s.") % {"part": part}
        if step == "record_payment":
            services.record_payment(case=case, actor=actor, reference=post.get("reference", ""))
            return _("The payment for case %(number)s is recorded.") % {"number": case.number}
        if step == "accept":
            case = services.accept(case=case, actor=actor, note=note)
        elif step == "book_visit":
            case = services.book_visit(case=case, actor=actor, visit_at=_visit_time(post.get("visit_at")), note=note)
        elif step == "reject":
            case = services.reject(case=case, actor=actor, reason_text=post.get("reason", "")[:NOTE_MAX_LENGTH])
        elif step == "receive":
            case = services.receive(case=case, actor=actor)
        elif step == "start_diagnosis":
            case = services.start_diagnosis(case=case, actor=actor)
        elif step == "diagnose":
            case = services.diagnose(
                case=case,
                actor=actor,
                outcome=post.get("outcome", ""),
                notes=notes,
                exclusion=post.get("exclusion", ""),
                explanation=post.get("explanation", "")[:NOTE_MAX_LENGTH],
                quote=post.get("quote", "").strip() or None,
                photos=request.FILES.getlist("photos"),
            )
        elif step == "repaired":
            case = services.repaired(case=case, actor=actor, notes=notes)
        elif step == "fail_quality_check":
            case = services.fail_quality_check(case=case, actor=actor, notes=notes)
        elif step == "ship_back":
            case = services.ship_back(case=case, actor=actor, **shipment)
        elif step == "ship_back_unrepaired":
            case = services.ship_back_unrepaired(case=case, actor=actor, **shipment)
        elif step == "ship_accessory":
            case = services.ship_accessory(case=case, actor=actor, **shipment)
        else:  # decide_appeal
            decision = post.get("decision")
            if decision not in ("overturn", "uphold"):
                if not actor.has_perm(warranty_workflow.SUPERVISOR):
                    raise NotAllowed()
                raise ValidationFailed(fields={"decision": [_("Choose to overturn or to uphold the exclusion.")]})
            case = services.decide_appeal(case=case, actor=actor, overturn=decision == "overturn", note=note)
        return _("Case %(number)s is now: %(status)s.") % {"number": case.number, "status": case.get_status_display()}
