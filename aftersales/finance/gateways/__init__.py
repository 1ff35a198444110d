"""Payment gateways: the interface (`base`) and its adapters, picked by settings.PAYMENT_GATEWAY.

Adding a provider (Alipay, WeChat Pay) is one module with a `PaymentGateway` subclass and one line in
`GATEWAYS`; the refund queue only ever calls `get_gateway()`."""

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .base import GatewayError, GatewayRefund, PaymentGateway, RefundOutcome, RefundStatus

# Dotted paths, imported on first use, so one provider's client library is never needed by another's.
GATEWAYS = {
    "sandbox": "aftersales.finance.gateways.sandbox.SandboxGateway",
}


def get_gateway(name: str | None = None) -> PaymentGateway:
    """The configured gateway (settings.PAYMENT_GATEWAY), or the one called `name`; one instance per
    process and configuration, so its connections are reused from task to task."""
    name = name or settings.PAYMENT_GATEWAY
    if name not in GATEWAYS:
        raise ImproperlyConfigured(f"PAYMENT_GATEWAY={name!r} is not one of {sorted(GATEWAYS)}")
    key = (
        name,
        settings.PAYMENT_GATEWAY_URL,
        settings.PAYMENT_GATEWAY_SECRET,
        settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS,
        os.getpid(),  # never a client inherited across a fork
    )
    if key not in _instances:
        _instances[key] = import_string(GATEWAYS[name])()
    return _instances[key]


_instances: dict[tuple, PaymentGateway] = {}


__all__ = [
    "GATEWAYS",
    "GatewayError",
    "GatewayRefund",
    "PaymentGateway",
    "RefundOutcome",
    "RefundStatus",
    "get_gateway",
]
