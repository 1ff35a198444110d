"""Demo data for finance: the demo shop's online payments, as the sandbox provider holds them, so
refunds of the demo orders can really be paid through it (`make run`)."""

from decimal import Decimal
from pathlib import Path

from django.conf import settings

from aftersales.orders.models import Order, PaymentMode

from .sandbox.store import Refusal, Store


def sandbox_store_path() -> Path:
    # The Procfile starts the sandbox with --db ${VAR_DIR}/sandbox-gateway.sqlite3.
    return Path(settings.VAR_DIR) / "sandbox-gateway.sqlite3"


def capture_demo_payments() -> int:
    """What the storefront's checkout did at the provider: capture each paid online order. Writes
    the sandbox's own store (the process may not be running yet); nothing for another provider."""
    if settings.PAYMENT_GATEWAY != "sandbox":
        return 0
    store = Store(sandbox_store_path())
    captured = 0
    orders = Order.objects.filter(paid_at__isnull=False, payment_mode=PaymentMode.PREPAID).order_by("pk")
    for number, amount, currency in orders.values_list("number", "paid_total", "currency"):
        try:
            store.capture_payment({"reference": number, "amount": str(amount), "currency": currency})
        except Refusal:  # captured before with other figures (an old demo database): leave it
            continue
        captured += 1
    return captured


def seed_goodwill(*, order, agent) -> None:
    """A goodwill gesture for the demo customer, paid to their store balance and as a coupon, so
    "My account" has something to show (internal destinations are paid at once, R-FIN-2)."""
    from .models import Refund
    from .services import request_refund

    for destination, amount in ((Refund.Destination.BALANCE, "50.00"), (Refund.Destination.COUPON, "30.00")):
        request_refund(
            order=order,
            source=Refund.Source.GOODWILL,
            amount=Decimal(amount),
            idempotency_key=f"demo-goodwill-{order.number}-{destination}",
            requested_by=agent,
            destination=destination,
        )
