"""Customer portal: my orders and one order's lines, parcels, milestones and cases.

Orders come from `selectors.orders_visible_to`, so another customer's order number is a 404."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from aftersales.common.pagination import Paginator

from . import selectors

ORDERS_PER_PAGE = 20


@login_required
def home(request):
    return redirect("portal:order-list")


@login_required
@require_GET
def order_list(request):
    page = Paginator(selectors.order_list_with_items(user=request.user), ORDERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "orders/order_list.html", {"page": page})


@login_required
@require_GET
def order_detail(request, number):
    order = get_object_or_404(selectors.order_detail_queryset(request.user), number=number)
    context = {
        "order": order,
        "line_groups": selectors.order_lines_grouped(order),
        "parcels": order.parcels.all(),
        "cases": selectors.order_cases(user=request.user, order=order),
    }
    return render(request, "orders/order_detail.html", context)
