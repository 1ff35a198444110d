"""The finance refund queue in the staff dashboard (R-FIN-3): filters, totals, the decision forms on
each refund's page (approve, hold, release, reject, retry, resolve by hand) and bulk approval. A
refund is read-only here; every decision posts to a view that calls `finance.services`, which checks
who may decide and records the event."""

from datetime import date, timedelta
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from aftersales.common.admin_site import QueueMixin, SingleRowSettingsMixin, ViewOnlyMixin
from aftersales.common.errors import DomainError

from . import reconciliation, services
from .gateways import GatewayError
from .ledger import coupon_state
from .models import BalanceEntry, Coupon, PointsEntry, Refund, RefundApproval, RefundEvent, RefundSettings

State = Refund.State
NOTE_MAX_LENGTH = 2000


@admin.register(RefundSettings)
class RefundSettingsAdmin(SingleRowSettingsMixin, admin.ModelAdmin):
    list_display = ("__str__", "second_approval_above", "auto_approve_internal_up_to")


class RefundApprovalInline(ViewOnlyMixin, admin.TabularInline):
    model = RefundApproval
    fields = ("approver", "at")
    readonly_fields = fields
    extra = 0


class RefundEventInline(ViewOnlyMixin, admin.TabularInline):
    """The audit trail."""

    model = RefundEvent
    fields = ("at", "actor", "action", "from_label", "to_label", "note")
    readonly_fields = fields
    extra = 0

    @admin.display(description=_("from"))
    def from_label(self, event):
        return State(event.from_state).label if event.from_state in State.values else "-"

    @admin.display(description=_("to"))
    def to_label(self, event):
        return State(event.to_state).label if event.to_state in State.values else "-"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class AmountFilter(admin.SimpleListFilter):
    title = _("amount")
    parameter_name = "amount"
    RANGES = {
        "lt100": (None, Decimal("100")),
        "100-1000": (Decimal("100"), Decimal("1000")),
        "1000-5000": (Decimal("1000"), Decimal("5000")),
        "ge5000": (Decimal("5000"), None),
    }

    def lookups(self, request, model_admin):
        return [
            ("lt100", _("under 100")),
            ("100-1000", "100 – 1,000"),
            ("1000-5000", "1,000 – 5,000"),
            ("ge5000", _("5,000 and more")),
        ]

    def queryset(self, request, queryset):
        low, high = self.RANGES.get(self.value(), (None, None))
        if low is not None:
            queryset = queryset.filter(amount__gte=low)
        if high is not None:
            queryset = queryset.filter(amount__lt=high)
        return queryset


class AgeFilter(admin.SimpleListFilter):
    title = _("waiting")
    parameter_name = "age"
    DAYS = {"1": 1, "3": 3, "7": 7}

    def lookups(self, request, model_admin):
        return [("1", _("more than a day")), ("3", _("more than 3 days")), ("7", _("more than a week"))]

    def queryset(self, request, queryset):
        days = self.DAYS.get(self.value())
        return queryset.filter(created_at__lte=timezone.now() - timedelta(days=days)) if days else queryset


def _csv_download(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


@admin.register(Refund)
class RefundAdmin(QueueMixin, ViewOnlyMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "created_at",
        "order",
        "case",
        "source",
        "destination",
        "amount",
        "state",
        "approvals_label",
        "attempts",
        "requested_by",
    )
    list_filter = ("state", "source", "destination", AmountFilter, AgeFilter, "created_at")
    search_fields = ("order__number", "case__number", "idempotency_key", "gateway_reference")
    list_select_related = ("order", "case", "requested_by")
    actions = ["approve_selected"]
    inlines = [RefundApprovalInline, RefundEventInline]
    readonly_fields = (
        "order",
        "case",
        "source",
        "amount",
        "state",
        "destination",
        "bank_account_name",
        "bank_name",
        "bank_account_number",
        "approvals_required",
        "reason",
        "requested_by",
        "idempotency_key",
        "gateway_reference",
        "attempts",
        "next_attempt_at",
        "last_error",
        "paid_at",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields

    @admin.display(description=_("approvals"))
    def approvals_label(self, obj):
        return f"{obj.approval_count}/{obj.approvals_required}"

    def get_queryset(self, request):
        # A subquery per shown row, not a join grouped over the whole queue: the page then reads the
        # newest refunds from an index and stops at the page's last row (bench/explain.py).
        approvals = (
            RefundApproval.objects.filter(refund=OuterRef("pk")).order_by().values("refund").annotate(n=Count("*"))
        )
        count = Coalesce(Subquery(approvals.values("n"), output_field=IntegerField()), 0)
        return super().get_queryset(request).annotate(approval_count=count)

    # --- totals over the filtered queue

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        try:
            queryset = response.context_data["cl"].queryset
        except (AttributeError, KeyError):
            return response  # a redirect (an action ran) or an error page
        # COUNT(*), not COUNT(id): the sums and counts by state come off the (state, amount) index alone.
        by_state = list(
            queryset.order_by().values("state").annotate(total=Sum("amount"), count=Count("*")).order_by("state")
        )
        response.context_data["refund_totals"] = {
            "count": sum(row["count"] for row in by_state),
            "total": sum((row["total"] for row in by_state), Decimal("0.00")),
            "by_state": [{**row, "label": State(row["state"]).label} for row in by_state],
        }
        return response

    # --- decisions

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        finance_view = self.admin_site.admin_view
        return (
            [
                path(
                    "reconciliation/", finance_view(self.reconciliation_view), name="{}_{}_reconciliation".format(*info)
                ),
                path("transfers/", finance_view(self.transfers_view), name="{}_{}_transfers".format(*info)),
                path("export/", finance_view(self.export_view), name="{}_{}_export".format(*info)),
            ]
            + [
                path(
                    f"<path:object_id>/{decision}/",
                    self.admin_site.admin_view(require_POST(self.decision_view)),
                    {"decision": decision},
                    name="{}_{}_{}".format(*info, decision),
                )
                for decision in services.DECISIONS
            ]
            + super().get_urls()
        )

    def _url(self, view: str, obj) -> str:
        info = self.opts.app_label, self.opts.model_name
        return reverse("admin:{}_{}_{}".format(*info, view), args=[obj.pk], current_app=self.admin_site.name)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and request.user.has_perm(services.APPROVE_PERMISSION):
            extra_context["refund_decisions"] = {
                decision: self._url(decision, obj)
                for decision, states in services.DECISIONS.items()
                if obj.state in states
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def decision_view(self, request, object_id, decision):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(_("No such refund."))
        if not request.user.has_perm(services.APPROVE_PERMISSION):
            raise PermissionDenied
        note = request.POST.get("note", "").strip()[:NOTE_MAX_LENGTH]
        actor = request.user
        try:
            if decision == "approve":
                refund = services.approve_refund(refund=obj, actor=actor, note=note)
            elif decision == "hold":
                refund = services.hold_refund(refund=obj, actor=actor, reason=note)
            elif decision == "release":
                refund = services.release_refund(refund=obj, actor=actor, note=note)
            elif decision == "reject":
                refund = services.reject_refund(refund=obj, actor=actor, reason=note)
            elif decision == "retry":
                refund = services.retry_refund(refund=obj, actor=actor, note=note)
            else:
                reference = request.POST.get("reference", "").strip()[:100]
                refund = services.resolve_refund(refund=obj, actor=actor, note=note, reference=reference)
        except DomainError as error:
            self.message_user(request, error.text, messages.ERROR)
        else:
            self.message_user(
                request,
                _("Refund %(id)s is now: %(state)s.") % {"id": refund.pk, "state": refund.get_state_display()},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(self._url("change", obj))

    # --- reconciliation and the bank-transfer batch

    def _finance_only(self, request):
        if not request.user.has_perm(services.APPROVE_PERMISSION):
            raise PermissionDenied

    def export_view(self, request):
        """The queue as filtered on the list page (the same query string), as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            refunds = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:  # a hand-edited query string: the list page explains it
            return HttpResponseRedirect(reverse("admin:finance_refund_changelist") + "?e=1")
        return _csv_download(reconciliation.queue_csv(refunds), f"refund-queue-{timezone.localdate():%Y%m%d}.csv")

    def reconciliation_view(self, request):
        """A day's refunds that moved money (CSV), and the differences with the gateway's records."""
        self._finance_only(request)
        try:
            day = date.fromisoformat(request.GET.get("day", ""))
        except ValueError:
            day = timezone.localdate() - timedelta(days=1)
        if request.GET.get("format") == "csv":
            return _csv_download(reconciliation.export_csv(day), f"refunds-{day.isoformat()}.csv")
        try:
            mismatches, error = reconciliation.reconcile(day), ""
        except GatewayError as exc:
            mismatches, error = [], str(exc)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refund reconciliation"),
            "opts": self.opts,
            "day": day,
            "paid": reconciliation.paid_on(day),
            "mismatches": mismatches,
            "gateway_error": error,
        }
        return TemplateResponse(request, "admin/finance/refund/reconciliation.html", context)

    def transfers_view(self, request):
        """COD refunds to bank accounts: start today's batch (CSV for the bank), mark a batch paid."""
        self._finance_only(request)
        if request.method == "POST":
            try:
                if request.POST.get("action") == "start":
                    reference, text = reconciliation.start_transfer_batch(actor=request.user)
                    return _csv_download(text, f"{reference}.csv")
                count = reconciliation.mark_transfer_batch_paid(
                    reference=request.POST.get("reference", ""), actor=request.user
                )
                self.message_user(
                    request,
                    ngettext("%(count)d refund was marked paid.", "%(count)d refunds were marked paid.", count)
                    % {"count": count},
                    messages.SUCCESS,
                )
            except DomainError as error:
                self.message_user(request, error.text, messages.ERROR)
            return HttpResponseRedirect(request.path)
        bank = Refund.objects.filter(destination=Refund.Destination.BANK_TRANSFER)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Bank transfers"),
            "opts": self.opts,
            "waiting": bank.filter(state=State.APPROVED).aggregate(count=Count("id"), total=Sum("amount")),
            "batches": bank.filter(state=State.PROCESSING)
            .values("gateway_reference")
            .annotate(count=Count("id"), total=Sum("amount"))
            .order_by("gateway_reference"),
        }
        return TemplateResponse(request, "admin/finance/refund/transfers.html", context)

    # --- bulk approval: each refund through the service, so every rule holds for each

    def has_approve_permission(self, request):
        return request.user.has_perm(services.APPROVE_PERMISSION)

    @admin.action(description=_("Approve selected"), permissions=["approve"])
    def approve_selected(self, request, queryset):
        approved, refused = 0, []
        for refund in queryset.order_by("pk"):
            try:
                services.approve_refund(refund=refund, actor=request.user)
            except DomainError as error:
                refused.append(f"#{refund.pk}: {error.text}")
            else:
                approved += 1
        self.message_user(
            request,
            ngettext("%(count)d approval was recorded.", "%(count)d approvals were recorded.", approved)
            % {"count": approved},
            messages.SUCCESS if approved else messages.INFO,
        )
        if refused:
            self.message_user(request, "; ".join(refused), messages.WARNING)


# --- The ledger (R-FIN-2) --------------------------------------------------------------------------


class LedgerEntryAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Entries are appended by `finance.ledger`; the dashboard lists them, it never edits them."""

    list_filter = ("kind", "created_at")
    search_fields = ("customer__email", "note")
    list_select_related = ("customer", "refund")
    date_hierarchy = "created_at"


@admin.register(BalanceEntry)
class BalanceEntryAdmin(LedgerEntryAdmin):
    list_display = ("id", "customer", "kind", "amount", "refund", "note", "created_at")


@admin.register(PointsEntry)
class PointsEntryAdmin(LedgerEntryAdmin):
    list_display = ("id", "customer", "kind", "points", "refund", "note", "created_at")


@admin.register(Coupon)
class CouponAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Coupons are issued, used and cancelled by `finance.ledger` under a row lock. The state filter
    is the stored one: an issued coupon past its expiry shows as expired in the list."""

    list_display = ("code", "customer", "amount", "currency", "shown_state", "issued_at", "expires_at", "refund")
    list_filter = ("state", "expires_at", "issued_at")
    search_fields = ("code", "customer__email")
    list_select_related = ("customer", "refund")
    date_hierarchy = "issued_at"

    @admin.display(description=_("state"), ordering="state")
    def shown_state(self, coupon):
        return Coupon.State(coupon_state(coupon)).label
