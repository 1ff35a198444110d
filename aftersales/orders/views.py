"""Customer portal: orders. (Filled in by the orders work.)"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect


@login_required
def home(request):
    return redirect("portal:order-list")


@login_required
def order_list(request):
    raise NotImplementedError


@login_required
def order_detail(request, number):
    raise NotImplementedError
