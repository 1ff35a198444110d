"""Customer portal for price protection (DOMAIN §4): one order's price-protection page, the one the
price-drop notification links to (each line's yield, window or refusal, and the one-click claim), and
the history of the customer's claims.

Orders come from `orders_visible_to(request.user)`, so another customer's order is a 404; what a
claim yields and whether it is refused is `services.file_claim`'s decision (R-PP-1 … R-PP-7)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from aftersales.accounts.security import limit_customer
from aftersales.common.errors import DomainError
from aftersales.orders.selectors import orders_visible_to

from . import overview, services

CLAIMS_PER_PAGE = 20


@login_required
@require_http_methods(["GET", "POST"])
def order(request, number):
    """GET: the order's price protection. POST (the one-click claim, no fields): claim every line's
    drop at once; a refusal re-renders the page with its message and rule (e.g. R-PP-5 on a second
    claim)."""
    order = get_object_or_404(orders_visible_to(request.user), number=number)
    error_message, error_rule, status = "", "", 200
    if request.method == "POST":
        try:
            limit_customer(request, "claim")
            case = services.file_claim(order=order, actor=request.user)
        except DomainError as error:
            error_message, error_rule, status = error.text, getattr(error, "rule", ""), error.http_status
        else:
            claim = overview.claim_detail(case)
            messages.success(
                request,
                _("Your price-protection claim %(number)s for %(amount)s was filed: %(status)s.")
                % {"number": case.number, "amount": f"{claim.amount:.2f}", "status": case.get_status_display()},
            )
            return redirect("priceprotect:order", number=order.number)
    pp = overview.order_overview(order)
    context = {
        "order": order,
        "pp": pp,
        "pp_can_claim": pp.can_claim(request.user),
        "error_message": error_message,
        "error_rule": error_rule,
    }
    return render(request, "priceprotect/order.html", context, status=status)


@login_required
@require_GET
def claim_list(request):
    """The customer's price-protection claims, newest first."""
    page = Paginator(overview.claims_of(request.user), CLAIMS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "priceprotect/claim_list.html", {"page": page})
