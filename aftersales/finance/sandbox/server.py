"""The sandbox provider's HTTP JSON API, with faults a test can switch on (see the package docstring)."""

import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .store import Refusal, Result, Store

log = logging.getLogger("sandbox-gateway")
# A header name, not a secret.
SECRET_HEADER = "X-Gateway-Secret"  # noqa: S105


@dataclass
class Faults:
    """What the provider does wrong, until told otherwise. Kept in memory: a restart clears them."""

    delay_seconds: float = 0.0  # every API call waits this long first (a slow provider)
    fail_next: int = 0  # the next n refund calls answer 503 without executing (a transient failure)
    timeout_next: int = 0  # the next n refund calls execute, then hang for hang_seconds before answering
    hang_seconds: float = 30.0
    down: bool = False  # every API call is dropped without an answer (connection closed)
    refund_requests: int = 0  # POST /refunds calls received, replays and faults included
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def update(self, changes: dict) -> None:
        with self.lock:
            for name in ("delay_seconds", "hang_seconds"):
                if name in changes:
                    setattr(self, name, float(changes[name]))
            for name in ("fail_next", "timeout_next"):
                if name in changes:
                    setattr(self, name, int(changes[name]))
            if "down" in changes:
                self.down = bool(changes["down"])

    def take(self, name: str) -> bool:
        """Use up one of the next-n faults called `name`; False when none is left."""
        with self.lock:
            left = getattr(self, name)
            if left > 0:
                setattr(self, name, left - 1)
            return left > 0

    def count_refund_request(self) -> None:
        with self.lock:
            self.refund_requests += 1

    def as_json(self) -> dict:
        with self.lock:
            names = ("delay_seconds", "fail_next", "timeout_next", "hang_seconds", "down")
            return {name: getattr(self, name) for name in names}


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True  # a hanging answer (timeout_next) never holds up shutdown

    def __init__(self, address: tuple[str, int], *, db_path: Path, secret: str):
        super().__init__(address, Handler)
        self.store = Store(db_path)
        self.secret = secret
        self.faults = Faults()

    def server_close(self) -> None:
        super().server_close()
        self.store.close()


class Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    server_version = "SandboxGateway/1"
    protocol_version = "HTTP/1.1"  # keep-alive: a worker's client reuses its connection from refund to refund
    # The headers and the body go out as two writes; with Nagle's algorithm the body waits for the
    # client's delayed ACK of the headers (up to 40 ms) on a kept-alive connection.
    disable_nagle_algorithm = True

    def do_GET(self):
        self.handle_api("GET")

    def do_POST(self):
        self.handle_api("POST")

    def handle_api(self, method: str) -> None:
        url = urlsplit(self.path)
        parts = [unquote(part) for part in url.path.strip("/").split("/") if part]
        body = self.read_body()
        if parts == ["_health"]:
            return self.answer(Result({"status": "ok"}))
        if not hmac.compare_digest(self.headers.get(SECRET_HEADER, "").encode(), self.server.secret.encode()):
            return self.answer(Result({"error": "unauthorized", "message": "bad or missing secret"}, status=401))
        faults = self.server.faults
        if parts and not parts[0].startswith("_"):
            if faults.down:
                self.close_connection = True  # no status line at all: the caller cannot tell what happened
                return None
            if faults.delay_seconds:
                time.sleep(faults.delay_seconds)
        try:
            if not isinstance(body, dict):
                raise Refusal(400, "invalid_request", "the body must be a JSON object")
            result = self.route(method, parts, url.query, body)
        except Refusal as refusal:
            result = Result({"error": refusal.error, "message": refusal.message, **refusal.body}, refusal.status)
        except Exception:
            log.exception("sandbox gateway: %s %s failed", method, self.path)
            result = Result({"error": "internal", "message": "the sandbox failed; see its log"}, status=500)
        return self.answer(result)

    def route(self, method: str, parts: list[str], query: str, body: dict) -> Result:
        store, faults = self.server.store, self.server.faults
        match method, parts:
            case "POST", ["payments"]:
                return store.capture_payment(body)
            case "GET", ["payments", reference]:
                return Result(store.payment(reference))
            case "POST", ["refunds"]:
                faults.count_refund_request()
                if faults.take("fail_next"):
                    raise Refusal(503, "unavailable", "the provider is busy; try again with the same key")
                result = store.execute_refund(self.headers.get("Idempotency-Key", ""), body)
                if faults.take("timeout_next"):
                    time.sleep(faults.hang_seconds)  # the money has moved; the caller will have given up
                return result
            case "GET", ["refunds", key]:
                return store.refund(key)
            case "GET", ["refunds"]:
                params = parse_qs(query)
                try:
                    day = date.fromisoformat(params["day"][0])
                    zone = ZoneInfo(params.get("tz", ["UTC"])[0])
                except (KeyError, ValueError, ZoneInfoNotFoundError):
                    raise Refusal(400, "invalid_request", "give day=YYYY-MM-DD and optionally tz=Area/City") from None
                return Result({"day": day.isoformat(), "refunds": store.refunds_on(day, zone)})
            case "POST", ["_faults"]:
                faults.update(body)
                return Result(faults.as_json())
            case "GET", ["_stats"]:
                return Result({"refunds_executed": store.refunds_executed(), "refund_requests": faults.refund_requests})
        raise Refusal(404, "not_found", f"no {method} {self.path}")

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        try:
            return json.loads(self.rfile.read(length))
        except ValueError:
            return None

    def answer(self, result: Result) -> None:
        payload = json.dumps(result.body).encode()
        try:
            self.send_response(result.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if result.replayed:
                self.send_header("Idempotent-Replayed", "true")
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up waiting (timeout_next): that is the point
