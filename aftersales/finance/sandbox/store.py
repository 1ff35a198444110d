"""The sandbox provider's books: captured payments and the refunds executed against them, in SQLite.

Every rule a real provider enforces lives here: a payment is recorded once per reference, a refund
once per idempotency key (the same key with a different request is a conflict), and refunds never
exceed what was captured. Amounts are exact decimals, stored as strings."""

import secrets
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    reference TEXT PRIMARY KEY,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refunds (
    idempotency_key TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    payment_reference TEXT NOT NULL REFERENCES payments (reference),
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    error TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS refunds_by_time ON refunds (created_at);
-- What a payment has refunded so far is summed on every refund: without this, a full scan.
CREATE INDEX IF NOT EXISTS refunds_by_payment ON refunds (payment_reference);
"""


class Refusal(Exception):
    """A request the provider answers with an error: `status` is the HTTP status, `error` a code."""

    def __init__(self, status: int, error: str, message: str, body: dict | None = None):
        super().__init__(message)
        self.status, self.error, self.message, self.body = status, error, message, body or {}


@dataclass(frozen=True)
class Result:
    body: dict
    status: int = 200
    replayed: bool = False


def parse_amount(value) -> Decimal:
    """A positive amount with at most two decimal places, given as a string (never a float)."""
    if not isinstance(value, str):
        raise Refusal(400, "invalid_request", 'amount must be a string such as "12.34"')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise Refusal(400, "invalid_request", f"amount {value!r} is not a number") from None
    if not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -2:
        raise Refusal(400, "invalid_request", f"amount {value!r} must be positive with at most two decimals")
    return amount


def now() -> str:
    # A fixed-width UTC timestamp, so text order is time order (the day query compares strings).
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # Held open for the store's life: when the last connection to a WAL database closes, SQLite
        # checkpoints and deletes the WAL, which then has to be made again by the next write.
        self._keeper = self._open()
        self._keeper.execute("PRAGMA journal_mode=WAL")
        self._keeper.executescript(SCHEMA)

    def _open(self) -> sqlite3.Connection:
        """Autocommit mode; writes take the lock with BEGIN IMMEDIATE."""
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        # WAL with NORMAL: no fsync per commit (a power cut may lose the last ones, never corrupts the
        # file). A test provider must answer at once; its books are not money.
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    @contextmanager
    def connection(self):
        """The calling thread's connection (the server has a thread per HTTP connection), kept between
        its requests. A transaction an error left open is rolled back."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._open()
        try:
            yield db
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")

    def close(self) -> None:
        self._keeper.close()

    # --- payments --------------------------------------------------------------------------------------
    def capture_payment(self, body: dict) -> Result:
        reference, currency = str(body.get("reference") or ""), str(body.get("currency") or "")
        amount = parse_amount(body.get("amount"))
        if not reference or not currency:
            raise Refusal(400, "invalid_request", "reference and currency are required")
        with self.connection() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT * FROM payments WHERE reference = ?", (reference,)).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO payments (reference, amount, currency, created_at) VALUES (?, ?, ?, ?)",
                    (reference, str(amount), currency, now()),
                )
                replayed = False
            elif Decimal(row["amount"]) != amount or row["currency"] != currency:
                raise Refusal(409, "payment_conflict", f"payment {reference} was captured with another amount")
            else:
                replayed = True
            db.execute("COMMIT")
        return Result(self.payment(reference), status=200 if replayed else 201, replayed=replayed)

    def payment(self, reference: str) -> dict:
        with self.connection() as db:
            row = db.execute("SELECT * FROM payments WHERE reference = ?", (reference,)).fetchone()
            if row is None:
                raise Refusal(404, "payment_not_found", f"no payment {reference}")
            return {
                "reference": row["reference"],
                "amount": row["amount"],
                "currency": row["currency"],
                "refunded": str(self._refunded(db, reference)),
                "created_at": row["created_at"],
            }

    @staticmethod
    def _refunded(db: sqlite3.Connection, payment_reference: str) -> Decimal:
        # Summed in Python: SQLite's SUM over text would go through floats.
        rows = db.execute(
            "SELECT amount FROM refunds WHERE payment_reference = ? AND status = 'succeeded'", (payment_reference,)
        )
        return sum((Decimal(amount) for (amount,) in rows), Decimal("0.00"))

    # --- refunds ---------------------------------------------------------------------------------------
    def execute_refund(self, idempotency_key: str, body: dict) -> Result:
        """Pay a refund once per key. A replay returns the stored result, refusal included."""
        if not idempotency_key:
            raise Refusal(400, "invalid_request", "the Idempotency-Key header is required")
        payment_reference, currency = str(body.get("payment_reference") or ""), str(body.get("currency") or "")
        amount = parse_amount(body.get("amount"))
        with self.connection() as db:
            db.execute("BEGIN IMMEDIATE")  # one refund decision at a time: the captured cap holds
            stored = db.execute("SELECT * FROM refunds WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
            if stored is not None:
                same = (stored["payment_reference"], Decimal(stored["amount"]), stored["currency"]) == (
                    payment_reference,
                    amount,
                    currency,
                )
                if not same:
                    raise Refusal(
                        409,
                        "idempotency_conflict",
                        f"idempotency key {idempotency_key} was used for a different refund request",
                    )
                db.execute("COMMIT")
                return self._result(stored, replayed=True)
            payment = db.execute("SELECT * FROM payments WHERE reference = ?", (payment_reference,)).fetchone()
            if payment is None:
                raise Refusal(404, "payment_not_found", f"no payment {payment_reference}")
            error, message = "", ""
            if currency != payment["currency"]:
                error, message = "currency_mismatch", f"payment {payment_reference} is in {payment['currency']}"
            else:
                left = Decimal(payment["amount"]) - self._refunded(db, payment_reference)
                if amount > left:
                    error, message = "amount_exceeds_captured", f"only {left} of {payment_reference} can be refunded"
            db.execute(
                "INSERT INTO refunds (idempotency_key, reference, payment_reference, amount, currency, status, error,"
                " message, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    idempotency_key,
                    f"sbx_rf_{secrets.token_hex(8)}",
                    payment_reference,
                    str(amount),
                    currency,
                    "failed" if error else "succeeded",
                    error,
                    message,
                    now(),
                ),
            )
            stored = db.execute("SELECT * FROM refunds WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
            db.execute("COMMIT")
        return self._result(stored, replayed=False)

    def refund(self, idempotency_key: str) -> Result:
        with self.connection() as db:
            row = db.execute("SELECT * FROM refunds WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
        if row is None:
            raise Refusal(404, "refund_not_found", f"no refund with idempotency key {idempotency_key}")
        return Result(self._refund_json(row))  # a refused refund is a fact to read, so 200 here

    def refunds_on(self, day: date, zone: ZoneInfo) -> list[dict]:
        """Refunds that moved money during `day` as the clock reads in `zone`."""
        start = datetime.combine(day, time.min, tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
        with self.connection() as db:
            rows = db.execute(
                "SELECT * FROM refunds WHERE status = 'succeeded' AND created_at >= ? AND created_at < ?"
                " ORDER BY created_at, reference",
                (utc_text(start), utc_text(end)),
            ).fetchall()
        return [self._refund_json(row) for row in rows]

    def refunds_executed(self) -> int:
        """Refunds that moved money: one row per idempotency key, so a replay never counts twice."""
        with self.connection() as db:
            return db.execute("SELECT count(*) FROM refunds WHERE status = 'succeeded'").fetchone()[0]

    @staticmethod
    def _refund_json(row: sqlite3.Row) -> dict:
        return {
            "reference": row["reference"],
            "idempotency_key": row["idempotency_key"],
            "payment_reference": row["payment_reference"],
            "amount": row["amount"],
            "currency": row["currency"],
            "status": row["status"],
            "error": row["error"],
            "message": row["message"],
            "created_at": row["created_at"],
        }

    def _result(self, row: sqlite3.Row, *, replayed: bool) -> Result:
        body = self._refund_json(row)
        return Result(body, status=422 if row["status"] == "failed" else 200, replayed=replayed)
