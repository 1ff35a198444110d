"""A sandbox payment provider we own: a small separate process that behaves like a real one.

Run it with `python -m aftersales.finance.sandbox --port 8010 --db var/sandbox-gateway.sqlite3`
(`make run` does, from the Procfile). It uses only the standard library and never touches Django's
settings or database: it stands for someone else's system. Its state lives in its own SQLite file, so a
restart keeps every payment and refund.

Every call except `GET /_health` carries the shared secret in `X-Gateway-Secret`. JSON in and out,
amounts as strings ("12.34"):

- `POST /payments` {reference, amount, currency}: a captured payment (201; the same again: 200; the
  same reference with another amount or currency: 409 `payment_conflict`). `GET /payments/{reference}`
  adds what was refunded.
- `POST /refunds` {payment_reference, amount, currency} with an `Idempotency-Key` header: 200 with
  `status: "succeeded"` and the provider's `reference`. The same key and body again returns the stored
  result (header `Idempotent-Replayed: true`), a refusal included; the same key with another body is 409
  `idempotency_conflict`. Above what is left of the capture: 422 `amount_exceeds_captured`; another
  currency: 422 `currency_mismatch` (both stored under the key); an unknown payment: 404.
- `GET /refunds/{idempotency_key}`: the stored refund (404 `refund_not_found` when none).
- `GET /refunds?day=YYYY-MM-DD&tz=Asia/Shanghai`: the refunds that moved money that day in that zone.
- `POST /_faults` {delay_seconds, fail_next, timeout_next, hang_seconds, down}: see `server.Faults`.
- `GET /_stats`: {refunds_executed (refunds that moved money), refund_requests (calls received)}.
"""
