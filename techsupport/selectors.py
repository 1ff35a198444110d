"""Reads of technical support shared by the portal, the API and the dashboard. Customers only get
their own tickets: every customer-facing queryset is filtered by the requesting user."""

from django.db.models import QuerySet

from aftersales.orders.models import Product

from .models import Ticket


def tickets_of(customer) -> QuerySet[Ticket]:
    """The customer's tickets, newest first."""
    return (
        Ticket.objects.filter(case__customer=customer)
        .select_related("case", "product", "team")
        .order_by("-case__opened_at", "-pk")
    )


def products_bought(customer) -> list[Product]:
    """The products on the customer's orders, for "which product is it about?"."""
    return list(Product.objects.filter(order_lines__order__customer=customer).distinct().order_by("name"))
