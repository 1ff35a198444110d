"""Customer portal: my account, i.e. my refunds with their state and destination, and my store
balance, points and coupons (R-FIN-1, R-FIN-2).

Everything is read through `ledger`'s selectors for `request.user` only, so no other customer's
entry can appear; staff have no ledger of their own to look at, so the page is a 404 for them."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from . import ledger
from .models import Coupon, Refund

ENTRIES_PER_PAGE = 20


@login_required
@require_GET
def account(request):
    customer = request.user
    if customer.is_staff:
        raise Http404
    now = timezone.now()
    coupons = Paginator(ledger.coupons_of(customer), ENTRIES_PER_PAGE).get_page(request.GET.get("coupons"))
    for coupon in coupons:
        coupon.current_state = ledger.coupon_state(coupon, now)
        coupon.state_label = Coupon.State(coupon.current_state).label
    context = {
        "balance": ledger.balance_of(customer),
        "points": ledger.points_of(customer),
        "balance_page": Paginator(ledger.balance_entries_of(customer), ENTRIES_PER_PAGE).get_page(
            request.GET.get("balance")
        ),
        "points_page": Paginator(ledger.points_entries_of(customer), ENTRIES_PER_PAGE).get_page(
            request.GET.get("points")
        ),
        "coupons_page": coupons,
        "refunds_page": Paginator(
            Refund.objects.filter(order__customer=customer)
            .select_related("order", "case")
            .order_by("-created_at", "-pk"),
            ENTRIES_PER_PAGE,
        ).get_page(request.GET.get("refunds")),
    }
    return render(request, "finance/account.html", context)
