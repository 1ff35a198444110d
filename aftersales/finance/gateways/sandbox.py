"""The client of our sandbox provider (`aftersales.finance.sandbox`), over HTTP like any real one.

No answer is never a failure: a timeout or a lost connection is UNKNOWN, because the provider may
have paid before we stopped listening; the caller retries with the same idempotency key."""

from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

import httpx
from django.conf import settings

from .base import GatewayError, GatewayRefund, PaymentGateway, RefundOutcome, RefundStatus

SECRET_HEADER = "X-Gateway-Secret"  # noqa: S105 (a header name)
# Statuses that mean "not now" rather than "no": the provider did not execute the request.
TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}


class SandboxGateway(PaymentGateway):
    name = "sandbox"

    def __init__(self, *, url: str | None = None, secret: str | None = None, timeout_seconds: float | None = None):
        self.url = (url or settings.PAYMENT_GATEWAY_URL).rstrip("/")
        self.secret = secret if secret is not None else settings.PAYMENT_GATEWAY_SECRET
        self.timeout = httpx.Timeout(timeout_seconds or settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS)
        self._client: httpx.Client | None = None

    def _call(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One request; httpx.TransportError (timeouts included) reaches the caller. The client (and its
        connection pool) is made once per gateway: building one costs ~40 ms of CPU (its SSL context)."""
        if self._client is None:
            self._client = httpx.Client(base_url=self.url, timeout=self.timeout, headers={SECRET_HEADER: self.secret})
        return self._client.request(method, path, **kwargs)

    # --- PaymentGateway -------------------------------------------------------------------------------
    def refund(self, *, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str) -> RefundOutcome:
        if not isinstance(amount, Decimal):
            raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
        body = {"payment_reference": payment_reference, "amount": format(amount, "f"), "currency": currency}
        try:
            response = self._call("POST", "/refunds", json=body, headers={"Idempotency-Key": idempotency_key})
        except httpx.TransportError as error:
            return RefundOutcome(RefundStatus.UNKNOWN, message=f"no answer from the sandbox gateway: {error!r}")
        return self._outcome(response)

    def refund_status(self, *, idempotency_key: str) -> RefundOutcome:
        try:
            response = self._call("GET", f"/refunds/{quote(idempotency_key, safe='')}")
        except httpx.TransportError as error:
            return RefundOutcome(RefundStatus.UNKNOWN, message=f"no answer from the sandbox gateway: {error!r}")
        if response.status_code == 404 and _json(response).get("error") == "refund_not_found":
            return RefundOutcome(RefundStatus.NOT_FOUND, message=_json(response).get("message", ""))
        if response.status_code != 200:
            # Not knowing is all a failed status query tells us; it says nothing about the refund.
            return RefundOutcome(RefundStatus.UNKNOWN, message=_describe(response))
        return self._outcome(response)

    def refunds_on(self, day: date) -> list[GatewayRefund]:
        try:
            response = self._call("GET", "/refunds", params={"day": day.isoformat(), "tz": settings.TIME_ZONE})
        except httpx.TransportError as error:
            raise GatewayError(f"no answer from the sandbox gateway: {error!r}") from error
        if response.status_code != 200:
            raise GatewayError(_describe(response))
        return [
            GatewayRefund(
                reference=item["reference"],
                idempotency_key=item["idempotency_key"],
                payment_reference=item["payment_reference"],
                amount=Decimal(item["amount"]),
                currency=item["currency"],
                created_at=datetime.fromisoformat(item["created_at"]),
            )
            for item in response.json()["refunds"]
        ]

    # --- sandbox only ---------------------------------------------------------------------------------
    def capture(self, *, reference: str, amount: Decimal, currency: str) -> dict:
        """Record a captured payment, as a shop's checkout would at a real provider (demo data, tests)."""
        response = self._call(
            "POST", "/payments", json={"reference": reference, "amount": format(amount, "f"), "currency": currency}
        )
        if response.status_code not in (200, 201):
            raise GatewayError(_describe(response))
        return response.json()

    # --- answers --------------------------------------------------------------------------------------
    @staticmethod
    def _outcome(response: httpx.Response) -> RefundOutcome:
        data = _json(response)
        status = response.status_code
        if status in TRANSIENT_STATUSES:
            return RefundOutcome(RefundStatus.FAILED, message=_describe(response), transient=True)
        if status == 409 and data.get("error") == "idempotency_conflict":
            message = f"the idempotency key was already used for a different refund request ({data.get('message')})"
            return RefundOutcome(RefundStatus.FAILED, message=message)
        if data.get("status") == "succeeded" and status == 200:
            return RefundOutcome(RefundStatus.SUCCEEDED, gateway_reference=data["reference"])
        if data.get("status") == "failed":  # a refusal the provider stored under the key (422, or 200 on GET)
            return RefundOutcome(RefundStatus.FAILED, gateway_reference=data["reference"], message=_describe(response))
        if 400 <= status < 500:
            return RefundOutcome(RefundStatus.FAILED, message=_describe(response))
        # A 2xx we cannot read, or a status no rule covers: we do not know whether money moved.
        return RefundOutcome(RefundStatus.UNKNOWN, message=_describe(response))


def _json(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _describe(response: httpx.Response) -> str:
    data = _json(response)
    if data.get("error"):
        return f"{response.status_code} {data['error']}: {data.get('message', '')}"
    return f"{response.status_code} {response.text[:200]}"
