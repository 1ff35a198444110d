"""What the refund queue and reconciliation need from a payment provider, whoever it is.

The queue calls `refund` with the refund row's idempotency key, every time, and acts on the outcome:

- SUCCEEDED: the money moved; `gateway_reference` is the provider's id for it.
- FAILED with transient=True: the provider did not pay this time (busy, rate-limited); retry later
  with the same key.
- FAILED with transient=False: the provider refused for good (above what was captured, unknown
  payment, the key reused for another request); a person has to look.
- UNKNOWN: no answer (timeout, connection lost). The money may or may not have moved: retry with the
  same key or ask `refund_status`, never treat it as failed and never pay it under a new key.
- NOT_FOUND: only from `refund_status`: the provider has no refund under this key, so nothing was paid.
  Reconciliation flags our paid refunds that come back NOT_FOUND.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class RefundStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class RefundOutcome:
    status: RefundStatus
    gateway_reference: str = ""
    message: str = ""
    transient: bool = False

    @property
    def retry_with_same_key(self) -> bool:
        """Try again later, with the same idempotency key (never a new one)."""
        return self.status == RefundStatus.UNKNOWN or (self.status == RefundStatus.FAILED and self.transient)


@dataclass(frozen=True)
class GatewayRefund:
    """One refund the provider executed (moved money for), as its books show it."""

    reference: str
    idempotency_key: str
    payment_reference: str
    amount: Decimal
    currency: str
    created_at: datetime  # aware


class GatewayError(Exception):
    """The provider could not answer a read (`refunds_on`): try the whole read again later."""


class PaymentGateway(ABC):
    """One payment provider. An adapter is one module with a subclass plus one entry in `GATEWAYS`."""

    name: str

    @abstractmethod
    def refund(self, *, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str) -> RefundOutcome:
        """Pay `amount` back against the captured payment. Idempotent by key: the same key and request
        pay at most once and answer the same; never raises for provider trouble (that is an outcome)."""

    @abstractmethod
    def refund_status(self, *, idempotency_key: str) -> RefundOutcome:
        """What the provider knows of the refund under this key: SUCCEEDED, FAILED (transient=False),
        NOT_FOUND (it never executed one), or UNKNOWN (it could not be asked)."""

    @abstractmethod
    def refunds_on(self, day: date) -> list[GatewayRefund]:
        """The refunds that moved money during `day` in the shop's time zone (settings.TIME_ZONE), for
        the daily reconciliation. Raises GatewayError when the provider cannot answer."""
