"""Dashboard: the shop's price-protection settings, the claims queue, revocations and price-drop offers,
and what a planned price cut would cost (linked from each product's page).

Configuration, not logic: claims, revocations and offers are read-only here; they are written by
`priceprotect.services`. A claim waiting for review (R-PP-7: a drop steep enough to look like a pricing
error) is approved or rejected with the forms on its page, which post to views that call
`services.approve` / `services.reject`; those check the permission and the status and move the case.
Refusals are shown as messages, never as an error page.
"""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import F, Sum
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from aftersales.cases.admin import staff_transitions, status_change
from aftersales.cases.models import CaseKind
from aftersales.common.admin_site import QueueMixin, SingleRowSettingsMixin, ViewOnlyMixin, case_status_filter
from aftersales.common.errors import DomainError, TransitionConflict
from aftersales.finance.ledger import coupon_state
from aftersales.finance.models import Coupon
from aftersales.orders import admin as orders_admin
from aftersales.orders.models import Product

from . import selectors, services
from . import workflow as pp_workflow
from .models import Claim, ClaimLine, PriceDropOffer, PriceProtectionSettings, Revocation
from .policy import Mode

NOTE_MAX_LENGTH = 5000
REVIEW_PERMISSION = pp_workflow.REVIEW
WAITING = "submitted"  # the status of a claim waiting for an agent (R-PP-7)
# The decision forms on a claim's page, and the workflow transition each one takes.
DECISIONS = ("approve", "reject")
PRICE_HISTORY_ROWS = 10
EXPOSURE_ORDERS_SHOWN = 20


def _local(moment):
    """A moment in the shop's time zone, formatted for the active language ("-" when unset)."""
    return formats.localize(timezone.localtime(moment)) if moment else "-"


def _admin_link(site, viewname: str, pk, text):
    """A link to another dashboard page, or the bare text where that page is not registered."""
    try:
        url = reverse(viewname, args=[pk], current_app=site.name)
    except NoReverseMatch:
        return text
    return format_html('<a href="{}">{}</a>', url, text)


@admin.register(PriceProtectionSettings)
class PriceProtectionSettingsAdmin(SingleRowSettingsMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "destination",
        "review_drop_above_percent",
        "notify_on_price_drop",
        "claim_automatically",
    )


# --- The claim page's tables ----------------------------------------------------------------------------


class ClaimLineInline(ViewOnlyMixin, admin.TabularInline):
    """R-PP-1 per line: what was paid, the price it is compared with and where that price came from."""

    model = ClaimLine
    fields = (
        "order_line",
        "paid_unit_price",
        "basis_price",
        "basis_kind",
        "basis_since",
        "drop_percent",
        "units",
        "amount",
        "revoked_units",
        "revoked_amount",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_line", "basis")

    @admin.display(description=_("price entry"))
    def basis_kind(self, obj):
        # No entry: the catalogue price, with no history to prove when it changed.
        return obj.basis.get_kind_display() if obj.basis_id else _("catalogue price")

    @admin.display(description=_("effective from"))
    def basis_since(self, obj):
        return _local(obj.basis.effective_at) if obj.basis_id else "-"


class RevocationInline(ViewOnlyMixin, admin.TabularInline):
    """R-PP-6: what was taken back and how it was recovered."""

    model = Revocation
    fields = (
        "created_at",
        "cause",
        "return_case",
        "amount",
        "by_cancelling_coupon",
        "deducted_from_refund",
        "taken_from_account",
        "not_paid_out",
        "unrecovered",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("return_case")


# --- The claims queue and the claim page --------------------------------------------------------------------


CaseStatusFilter = case_status_filter(pp_workflow.STATUSES)

# Claims waiting for review first, the one waiting longest at the top; then the others, newest first.
WAITING_FIRST = models.Case(models.When(case__status=WAITING, then=models.Value(0)), default=models.Value(1))
WAITING_SINCE = models.Case(models.When(case__status=WAITING, then=F("case__opened_at")), default=None)


@admin.register(Claim)
class ClaimAdmin(QueueMixin, ViewOnlyMixin, admin.ModelAdmin):
    """Claims are written by the price-protection services; agents decide the ones waiting for review."""

    list_display = (
        "case_number",
        "order",
        "customer",
        "status_label",
        "amount",
        "paid_as",
        "suspected_pricing_error",
        "largest_drop_percent",
        "automatic",
        "filed_on",
    )
    list_display_links = ("case_number",)
    list_filter = (CaseStatusFilter, "suspected_pricing_error", "mode", "destination", "automatic", "case__opened_at")
    search_fields = ("case__number", "order__number", "case__customer__email")
    ordering = (WAITING_FIRST.asc(), WAITING_SINCE.asc(nulls_last=True), F("case__opened_at").desc(), "-pk")
    inlines = [ClaimLineInline, RevocationInline]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "case_link",
                    "status_label",
                    "customer",
                    "order_link",
                    "filed_at",
                    "automatic",
                )
            },
        ),
        (
            _("Review (R-PP-7)"),
            {"fields": ("suspected_pricing_error", "largest_drop_percent", "decided_at", "decided_by")},
        ),
        (
            _("Compensation (R-PP-3)"),
            {
                "fields": (
                    "paid_as",
                    "amount",
                    "revoked_amount",
                    "refund_link",
                    "coupon_link",
                    "compensated_at",
                )
            },
        ),
    )
    readonly_fields = tuple(field for _title, options in fieldsets for field in options["fields"])

    def get_queryset(self, request):
        # Everything the queue's columns and the claim page read, in the one query. Every claim's case is a
        # price-protection case; saying so lets PostgreSQL read the queue off its partial index (migration 0003).
        return (
            super()
            .get_queryset(request)
            .filter(case__kind=CaseKind.PRICE_PROTECTION)
            .select_related("case__customer", "order", "refund", "coupon", "decided_by")
        )

    # --- columns and read-only fields

    @admin.display(description=_("case"), ordering="case__number")
    def case_number(self, obj):
        return obj.case.number

    @admin.display(description=_("case"))
    def case_link(self, obj):
        return _admin_link(self.admin_site, "admin:cases_case_change", obj.case_id, obj.case.number)

    @admin.display(description=_("status"), ordering="case__status")
    def status_label(self, obj):
        return format_html(
            '<span class="case-status status-{}">{}</span>', obj.case.status, obj.case.get_status_display()
        )

    @admin.display(description=_("customer"), ordering="case__customer__email")
    def customer(self, obj):
        return obj.case.customer

    @admin.display(description=_("order"))
    def order_link(self, obj):
        return _admin_link(self.admin_site, "admin:orders_order_change", obj.order_id, obj.order.number)

    @admin.display(description=_("paid as"), ordering="mode")
    def paid_as(self, obj):
        return obj.get_destination_display() if obj.mode == Mode.CREDIT else obj.get_mode_display()

    @admin.display(description=_("filed"), ordering="case__opened_at")
    def filed_on(self, obj):
        return formats.date_format(timezone.localdate(obj.case.opened_at))

    @admin.display(description=_("filed"))
    def filed_at(self, obj):
        return _local(obj.case.opened_at)

    @admin.display(description=_("refund"))
    def refund_link(self, obj):
        refund = obj.refund
        if refund is None:
            return "-"
        text = f"#{refund.pk} · {refund.amount} · {refund.get_state_display()}"
        return _admin_link(self.admin_site, "admin:finance_refund_change", refund.pk, text)

    @admin.display(description=_("coupon"))
    def coupon_link(self, obj):
        coupon = obj.coupon
        if coupon is None:
            return "-"
        text = f"{coupon.code} · {coupon.amount} · {Coupon.State(coupon_state(coupon)).label}"
        return _admin_link(self.admin_site, "admin:finance_coupon_change", coupon.pk, text)

    # --- the queue: a count of the claims waiting for review

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        extra_context["waiting_count"] = Claim.objects.filter(case__status=WAITING).count()
        extra_context["waiting_url"] = self._changelist_url() + f"?status={WAITING}"
        return super().changelist_view(request, extra_context)

    def _changelist_url(self) -> str:
        info = self.opts.app_label, self.opts.model_name
        return reverse("admin:{}_{}_changelist".format(*info), current_app=self.admin_site.name)

    # --- the claim page: the decision forms, the price history and the timeline

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "exposure/<int:product_id>/",
                self.admin_site.admin_view(self.exposure_view),
                name="{}_{}_exposure".format(*info),
            ),
            *(
                path(
                    f"<path:object_id>/{decision}/",
                    self.admin_site.admin_view(require_POST(self.decision_view)),
                    {"decision": decision},
                    name="{}_{}_{}".format(*info, decision),
                )
                for decision in DECISIONS
            ),
            *super().get_urls(),
        ]

    def _url(self, view: str, *args) -> str:
        info = self.opts.app_label, self.opts.model_name
        return reverse("admin:{}_{}_{}".format(*info, view), args=args, current_app=self.admin_site.name)

    def decisions(self, obj, user) -> dict[str, str]:
        """The decision forms to show: those whose transition leaves the case's status now and that the
        user may take (both need `priceprotect.review_claim`)."""
        names = {t.name for t in staff_transitions(obj.case, user, own_steps=True)}
        return {decision: self._url(decision, obj.pk) for decision in DECISIONS if decision in names}

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            knobs = PriceProtectionSettings.objects.filter(pk=1).first() or PriceProtectionSettings()
            extra_context.update(
                claim=obj,
                claim_case=obj.case,
                claim_decisions=self.decisions(obj, request.user),
                review_limit=knobs.review_drop_above_percent,
                price_history=self.price_history(obj),
                timeline=[
                    (event, status_change(event))
                    for event in obj.case.events.select_related("actor", "case").order_by("at", "id")
                ],
                case_change_url=_case_url(self.admin_site, obj.case_id),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def price_history(self, obj) -> list[dict]:
        """Each claimed product's latest price entries, newest first, marking the claim's basis."""
        lines = list(obj.lines.select_related("order_line__product"))
        bases = {line.basis_id for line in lines if line.basis_id}
        products = {line.order_line.product_id: line.order_line.product for line in lines}
        history = []
        for product in sorted(products.values(), key=lambda p: p.sku):
            entries = list(product.price_changes.order_by("-effective_at", "-pk")[:PRICE_HISTORY_ROWS])
            for entry in entries:
                entry.is_basis = entry.pk in bases
            history.append({"product": product, "entries": entries})
        return history

    def decision_view(self, request, object_id, decision):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(_("No such price-protection claim."))
        if not self.has_view_permission(request, obj) or not request.user.has_perm(REVIEW_PERMISSION):
            raise PermissionDenied
        case = obj.case
        try:
            # The version the page was rendered from: if the case moved since, nothing is done (the
            # transition's compare-and-set also catches a move between this check and the write).
            if request.POST.get("version", "") != str(case.version):
                raise TransitionConflict()
            if decision == "approve":
                note = request.POST.get("note", "").strip()[:NOTE_MAX_LENGTH]
                case = services.approve(case=case, actor=request.user, note=note)
            else:
                reason = request.POST.get("reason", "")[:NOTE_MAX_LENGTH]
                case = services.reject(case=case, actor=request.user, reason_text=reason)
        except DomainError as error:
            self.message_user(request, error.text, messages.ERROR)
        else:
            self.message_user(
                request,
                _("Case %(number)s is now: %(status)s.") % {"number": case.number, "status": case.get_status_display()},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(self._url("change", obj.pk))

    # --- what a planned price cut would cost (linked from the product's page)

    def exposure_view(self, request, product_id):
        if not may_see_exposure(request.user):
            raise PermissionDenied
        product = get_object_or_404(Product.objects.select_related("category"), pk=product_id)
        form = ExposureForm(request.GET if "price" in request.GET else None)
        result, orders = None, []
        if form.is_valid():
            price, now = form.cleaned_data["price"], timezone.now()
            result = selectors.exposure(product, price, now)
            orders = (
                selectors.lines_gaining(product, price, now)
                .values("order_id", "order__number")
                .annotate(units=Sum("quantity"), gain=Sum(F("paid_amount") - F("quantity") * price))
                .order_by("-gain", "order_id")[:EXPOSURE_ORDERS_SHOWN]
            )
        basis, _entry = selectors.basis_of(product, timezone.now())
        context = {
            **self.admin_site.each_context(request),
            "title": _("Price-protection exposure: %(product)s") % {"product": product.name},
            "opts": self.opts,
            "product": product,
            "product_url": _product_url(self.admin_site, product.pk),
            "regular_price": basis.regular,
            "window_days": product.category.price_protection_days,
            "form": form,
            "result": result,
            "orders": [{**row, "url": _order_url(self.admin_site, row["order_id"])} for row in orders],
            "orders_shown": EXPOSURE_ORDERS_SHOWN,
        }
        return TemplateResponse(request, "admin/priceprotect/exposure.html", context)


def _case_url(site, case_id) -> str:
    return reverse("admin:cases_case_change", args=[case_id], current_app=site.name)


def _product_url(site, product_id) -> str:
    return reverse("admin:orders_product_change", args=[product_id], current_app=site.name)


def _order_url(site, order_id) -> str:
    return reverse("admin:orders_order_change", args=[order_id], current_app=site.name)


class ExposureForm(forms.Form):
    price = forms.DecimalField(
        label=_("Planned regular price"),
        min_value=Decimal("0.00"),
        max_digits=12,
        decimal_places=2,
        help_text=_("The new regular price you are thinking of; nothing is changed."),
    )


def may_see_exposure(user) -> bool:
    return user.has_perm("priceprotect.view_claim") and user.has_perm("orders.view_product")


def exposure_tool(request, product) -> tuple[str, str] | None:
    """The link on a product's page (registered with the catalog's admin)."""
    if not may_see_exposure(request.user):
        return None
    return str(_("Price-protection exposure")), reverse("admin:priceprotect_claim_exposure", args=[product.pk])


orders_admin.add_product_tool(exposure_tool)


# --- Revocations and price-drop offers: view only ---------------------------------------------------------


class UnrecoveredFilter(admin.SimpleListFilter):
    """R-PP-6: compensation that could not be taken back automatically (a spent coupon on a refused
    order), for staff to follow up."""

    title = _("left to recover by hand")
    parameter_name = "unrecovered"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(unrecovered__gt=0)
        if self.value() == "no":
            return queryset.filter(unrecovered=0)
        return queryset


@admin.register(Revocation)
class RevocationAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = (
        "claim_link",
        "order",
        "cause",
        "return_case",
        "amount",
        "by_cancelling_coupon",
        "deducted_from_refund",
        "taken_from_account",
        "not_paid_out",
        "unrecovered",
        "created_at",
    )
    list_filter = (UnrecoveredFilter, "cause", "created_at")
    search_fields = ("claim__case__number", "claim__order__number", "return_case__number")
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("claim__case", "claim__order", "return_case")

    @admin.display(description=_("claim"), ordering="claim__case__number")
    def claim_link(self, obj):
        url = reverse("admin:priceprotect_claim_change", args=[obj.claim_id], current_app=self.admin_site.name)
        return format_html('<a href="{}">{}</a>', url, obj.claim.case.number)

    @admin.display(description=_("order"), ordering="claim__order__number")
    def order(self, obj):
        return obj.claim.order


@admin.register(PriceDropOffer)
class PriceDropOfferAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ("order", "product", "new_price", "amount", "created_at")
    list_filter = ("created_at",)
    search_fields = ("order__number", "price_change__product__sku", "price_change__product__name")
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order", "price_change__product")

    @admin.display(description=_("product"), ordering="price_change__product__sku")
    def product(self, obj):
        return obj.price_change.product.name

    @admin.display(description=_("new price"), ordering="price_change__price")
    def new_price(self, obj):
        return obj.price_change.price
