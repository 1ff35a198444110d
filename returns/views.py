"""Customer portal: the after-sales options of an order (policy transparency, R-RET-15)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from aftersales.orders.selectors import orders_visible_to

from . import selectors


@login_required
@require_GET
def order_options(request, number):
    order = get_object_or_404(orders_visible_to(request.user), number=number)
    return render(request, "returns/order_options.html", {"order": order, "lines": selectors.order_verdicts(order)})
