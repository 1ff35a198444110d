"""HTTP load on the app as production serves it: gunicorn (sync workers) with the production settings on
loopback, wrk as the clients, each operation beside the minimal DRF endpoint (bench/urls.py) on the same
server in the same run.

`operations()` prepares, in this process's Django (set up on the bench database), the requests of each
operation for wrk (bench/wrk.lua): API tokens for a sample of customers, sessions for staff and for the
portal, and for the write (creating a return) one distinct eligible order per request. `Server` collects
the static files and starts gunicorn; `measure()` runs wrk at each number of clients and returns the
figures; `print_table()` prints them with the ratio to the baseline and the verdicts.
"""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk.lua"

# Targets of issue 9: throughput against the baseline at the same number of clients, p99 at 8 clients.
READ_RATIO, WRITE_RATIO, P99_MS, P99_CLIENTS = 0.60, 0.35, 100, 8
INSIGHT_MS = 500
WARM_CLIENTS, WARM_SECONDS = 8, 2
DRAIN_SECONDS = 30

# What is requested (tests/test_bench.py checks each is a URL of the project).
PATHS = {
    "options": "/api/v1/orders/{order}/options/",
    "orders": "/api/v1/orders/",
    "timeline": "/api/v1/cases/{case}/",
    "portal": "/orders/",
    "create": "/api/v1/returns/",
}
INSIGHT_PATH = "/admin/insight/"
DASHBOARD_PAGES = [  # (operation, staff role, path)
    (
        "dashboard: returns queue (received returns)",
        "agent",
        "/admin/returns/returnrequest/?kind=return&status=received",
    ),
    ("dashboard: ticket queue by SLA", "agent", "/admin/techsupport/ticket/"),
    ("dashboard: refund queue with totals", "finance", "/admin/finance/refund/?state__exact=pending_approval"),
    ("dashboard: insight, last 365 days", "supervisor", INSIGHT_PATH),
]


@dataclass
class Operation:
    name: str
    kind: str  # "read", "write" or "baseline"
    expect: int  # the status every request must get
    lines: list[str] = field(default_factory=list)  # wrk requests: method, path, headers, body (tab-separated)
    p99_target_ms: float | None = P99_MS

    def add(self, method: str, path: str, headers: dict[str, str], body: str = "") -> None:
        self.lines.append("\t".join([method, path, "|".join(f"{k}: {v}" for k, v in headers.items()), body]))


def _token_headers(customers) -> dict[int, dict[str, str]]:
    """An API token per customer (made here: the bench never logs in through a password)."""
    from rest_framework.authtoken.models import Token

    existing = dict(Token.objects.filter(user__in=customers).values_list("user_id", "key"))
    missing = [Token(user=c, key=Token.generate_key()) for c in customers if c.pk not in existing]
    Token.objects.bulk_create(missing)
    existing.update({t.user_id: t.key for t in missing})
    return {user_id: {"Authorization": f"Token {key}", "Accept-Language": "en"} for user_id, key in existing.items()}


def _session_cookie(user) -> dict[str, str]:
    """A logged-in session for `user`, as `login()` stores it, and its cookie header."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]  # ModelBackend (the first only checks lockouts)
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={store.session_key}", "Accept-Language": "en"}


def _return_candidates(limit: int) -> list:
    """First lines of signed-for orders inside the 7-day window with no case, of products a no-reason
    return accepts without a service-centre report: each can be returned once."""
    from django.utils import timezone

    from aftersales.orders.models import OrderLine

    now = timezone.now()
    return list(
        OrderLine.objects.filter(
            line_no=1,
            order__signed_for_at__gte=now - timedelta(days=6),
            order__signed_for_at__lte=now,
            order__cancelled_at__isnull=True,
            order__is_b2b=False,
            order__cases__isnull=True,
            product__category__quality_report_required=False,
        )
        .select_related("order")
        .order_by("order_id")[:limit]
    )


def operations(sample: int = 2000, writes: int = 20000) -> list[Operation]:
    """Every measured operation with its requests (`sample` customers, up to `writes` returns)."""
    from django.utils import timezone

    from aftersales.accounts.models import User
    from aftersales.cases.models import Case
    from aftersales.orders.models import Order
    from returns.policy import Condition

    rng = random.Random(2026)
    now = timezone.now()
    # Customers with a recent order and a case: what the portal's busiest users look like.
    recent = list(
        Order.objects.filter(placed_at__gte=now - timedelta(days=30), cancelled_at__isnull=True)
        .values_list("customer_id", "number")
        .order_by("id")
    )
    rng.shuffle(recent)
    with_cases = dict(
        Case.objects.filter(customer_id__in={c for c, _n in recent[: sample * 4]})
        .values_list("customer_id", "number")
        .order_by("customer_id", "-id")
    )
    picked = [(c, n) for c, n in recent if c in with_cases][:sample]
    customers = list(User.objects.filter(pk__in={c for c, _n in picked}))
    tokens = _token_headers(customers)
    by_id = {c.pk: c for c in customers}
    json_headers = {"Content-Type": "application/json"}

    baseline = Operation("baseline: minimal DRF endpoint", "baseline", 200, p99_target_ms=None)
    baseline.add("GET", "/bench/baseline/", {"Accept-Language": "en"})
    options = Operation("API: after-sales options of an order", "read", 200)
    orders = Operation("API: a customer's orders", "read", 200)
    timeline = Operation("API: a case with its timeline", "read", 200)
    for customer_id, number in picked:
        options.add("GET", PATHS["options"].format(order=number), tokens[customer_id])
        orders.add("GET", PATHS["orders"], tokens[customer_id])
        timeline.add("GET", PATHS["timeline"].format(case=with_cases[customer_id]), tokens[customer_id])
    portal = Operation("portal: my orders page", "read", 200)
    for customer_id, _number in picked[:200]:
        portal.add("GET", PATHS["portal"], _session_cookie(by_id[customer_id]))

    create = Operation("API: create a return", "write", 201)
    condition = {
        Condition.SEAL_INTACT: True,
        Condition.PACKAGE_OPENED: False,
        Condition.POWERED_ON: False,
        Condition.ACTIVATED: False,
        Condition.CARD_INSERTED: False,
        Condition.WATER_EXPOSURE: False,
        Condition.ACCESSORIES_COMPLETE: True,
    }
    candidates = _return_candidates(writes)
    owners = {c.pk: c for c in User.objects.filter(pk__in={line.order.customer_id for line in candidates})}
    write_tokens = _token_headers(list(owners.values()))
    for line in candidates:
        body = {
            "order": line.order.number,
            "kind": "return",
            "reason": "no_reason",
            "lines": [{"line_id": line.pk, "quantity": 1}],
            "condition": {str(k): v for k, v in condition.items()},
        }
        create.add("POST", PATHS["create"], {**write_tokens[line.order.customer_id], **json_headers}, json.dumps(body))

    staff = {role: User.objects.get(email=f"{role}@bench.example") for role in ("agent", "finance", "supervisor")}
    today = timezone.localdate()
    dashboard = []
    last_year = f"?start={today - timedelta(days=364):%Y-%m-%d}&end={today:%Y-%m-%d}"
    for name, role, path in DASHBOARD_PAGES:
        if path == INSIGHT_PATH:
            operation = Operation(name, "read", 200, p99_target_ms=INSIGHT_MS)
            path += last_year
        else:
            operation = Operation(name, "read", 200, p99_target_ms=P99_MS)
        operation.add("GET", path, _session_cookie(staff[role]))
        dashboard.append(operation)
    return [baseline, options, orders, timeline, portal, create, *dashboard]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn serving bench.wsgi with the production settings (DEBUG off, the manifest static files,
    Redis as the broker) on a free loopback port; a context manager."""

    def __init__(self, env: dict[str, str], workers: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.directory = Path(tempfile.mkdtemp(prefix="bench-http-"))
        self.env = {**env, "STATIC_ROOT": str(self.directory / "static"), "ALLOWED_HOSTS": "127.0.0.1"}
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        python = sys.executable
        subprocess.run(
            [python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=BASE_DIR, env=self.env, check=True
        )
        log = (self.directory / "gunicorn.log").open("wb")
        command = [
            python, "-m", "gunicorn", "bench.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers), "--log-level", "warning", "--chdir", str(BASE_DIR),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited: {(self.directory / 'gunicorn.log').read_text()}")
            if self.status("/bench/baseline/") == 200:
                return self
            time.sleep(0.2)
        raise SystemExit("gunicorn did not answer within 60 s")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.directory, ignore_errors=True)

    def status(self, path: str, method: str = "GET", headers: dict | None = None, body: str = "") -> int:
        import httpx

        try:
            return httpx.request(method, self.url + path, headers=headers, content=body or None, timeout=60).status_code
        except httpx.TransportError:
            return 0

    def log_tail(self) -> str:
        return (self.directory / "gunicorn.log").read_text(errors="replace")[-3000:]


def _parse(line: str) -> tuple[str, str, dict[str, str], str]:
    method, path, headers, body = line.split("\t")
    pairs = (pair.split(": ", 1) for pair in headers.split("|") if pair)
    return method, path, dict(pairs), body


def wrk(server: Server, operation: Operation, clients: int, seconds: float, requests_file: Path) -> dict:
    """One wrk run of `operation` with `clients` connections for `seconds`: its figures."""
    command = [
        "wrk", "-t1", f"-c{clients}", f"-d{seconds:g}s", "--timeout", "30s", "-s", str(WRK_SCRIPT),
        server.url, "--", str(requests_file),
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    seconds_run = figures["duration_us"] / 1e6
    errors = sum(figures["errors"].values())
    return {
        "clients": clients,
        "requests": figures["requests"],
        "rps": figures["requests"] / seconds_run,
        "p50_ms": figures["latency_us"]["p50"] / 1000,
        "p95_ms": figures["latency_us"]["p95"] / 1000,
        "p99_ms": figures["latency_us"]["p99"] / 1000,
        "max_ms": figures["latency_us"]["max"] / 1000,
        "errors": errors,
    }


def measure(server: Server, operations: list[Operation], levels: list[int], seconds: float) -> list[dict]:
    """Each operation checked once (its first request must get the expected status), warmed for 2 s at 8
    clients, then measured at each level for `seconds`. The write's requests are used up in order."""
    results = []
    directory = Path(tempfile.mkdtemp(prefix="bench-wrk-"))
    for operation in operations:
        lines = list(operation.lines)
        if not lines:
            print(f"  {operation.name}: nothing to request (no data for it at this scale); left out")
            continue
        first = _parse(lines.pop(0)) if operation.kind == "write" else _parse(lines[0])
        status = server.status(first[1], first[0], first[2], first[3])
        if status != operation.expect:
            print(server.log_tail())
            raise SystemExit(f"{operation.name}: {first[0]} {first[1]} answered {status}, not {operation.expect}")
        requests_file = directory / f"{len(results)}.tsv"
        runs = []
        for clients, duration in [(WARM_CLIENTS, WARM_SECONDS)] + [(c, seconds) for c in levels]:
            if not lines:
                print(f"  {operation.name}: no eligible order left for {clients} clients (a larger --scale has more)")
                break
            requests_file.write_text("\n".join(lines) + "\n")
            run = wrk(server, operation, clients, duration, requests_file)
            # The requests wrk left in flight are still being served: let them finish before the next run.
            time.sleep(min(DRAIN_SECONDS, 2 * run["max_ms"] / 1000))
            if operation.kind == "write":  # never the same return twice: drop what this run sent
                lines = lines[run["requests"] + clients :]  # (those in flight when wrk stopped were sent too)
            runs.append(run)
        runs = runs[1:]  # the warm-up is not reported
        result = {"operation": operation.name, "kind": operation.kind, "p99_target_ms": operation.p99_target_ms}
        result["levels"] = runs
        results.append(result)
        summary = "  ".join(f"{r['clients']}: {r['rps']:.0f}/s p99 {r['p99_ms']:.0f} ms" for r in runs)
        print(f"  {operation.name:<46} {summary}")
    shutil.rmtree(directory, ignore_errors=True)
    _compare(results)
    return results


def _compare(results: list[dict]) -> None:
    """Ratios to the baseline at the same number of clients, and each operation's verdicts."""
    baseline = next((r for r in results if r["kind"] == "baseline"), None)
    base = {run["clients"]: run["rps"] for run in baseline["levels"]} if baseline else {}
    for result in results:
        for run in result["levels"]:
            run["ratio"] = run["rps"] / base[run["clients"]] if base.get(run["clients"]) else None
        if result["kind"] == "baseline":
            continue
        wanted = READ_RATIO if result["kind"] == "read" else WRITE_RATIO
        ratios = [run["ratio"] for run in result["levels"] if run["ratio"] is not None]
        at_target = [run for run in result["levels"] if run["clients"] == P99_CLIENTS]
        result["ratio_target"] = wanted
        result["meets_ratio"] = bool(ratios) and min(ratios) >= wanted
        result["meets_p99"] = bool(at_target) and at_target[0]["p99_ms"] < result["p99_target_ms"]
        result["errors"] = sum(run["errors"] for run in result["levels"])


def print_table(results: list[dict]) -> None:
    levels = [run["clients"] for run in results[0]["levels"]] if results else []
    head = f"  {'operation':<46}" + "".join(
        f" | {c:>2} clients: {'req/s':>6} {'p50':>6} {'p95':>6} {'p99':>6} {'ratio':>5}" for c in levels
    )
    print(head + " | errors | verdict")
    print("  " + "-" * (len(head) + 18))
    for result in results:
        cells = ""
        for run in result["levels"]:
            ratio = f"{run['ratio']:.2f}" if run.get("ratio") is not None else "  -"
            cells += (
                f" | {'':>11} {run['rps']:6.0f} {run['p50_ms']:6.1f} {run['p95_ms']:6.1f} {run['p99_ms']:6.1f} "
                f"{ratio:>5}"
            )
        if result["kind"] == "baseline":
            verdict = "baseline"
        else:
            verdict = ", ".join(
                [
                    f"ratio ≥ {result['ratio_target']:.2f} {'yes' if result['meets_ratio'] else 'NO'}",
                    f"p99@{P99_CLIENTS} < {result['p99_target_ms']:.0f} ms {'yes' if result['meets_p99'] else 'NO'}",
                ]
            )
        errors = sum(run["errors"] for run in result["levels"])
        print(f"  {result['operation']:<46}{cells} | {errors:6d} | {verdict}")
    print("  (latencies in ms; ratio = requests/s ÷ the baseline's at the same number of clients)")


def gunicorn_env(database_url: str, broker_url: str) -> dict[str, str]:
    """The production settings (docker-compose.yml's) on loopback: the bench database, Redis, DEBUG off,
    plain HTTP (no TLS proxy in front)."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CACHE_URL": broker_url,  # shared by the processes, as docker-compose.yml's Redis cache
        "DATABASE_CONN_MAX_AGE": "60",  # as docker-compose.yml's web: a connection kept per worker
        "DEBUG": "0",
        "HTTPS": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        # wrk replays staff sessions made without a TOTP code, thousands of requests from 127.0.0.1.
        "STAFF_TWO_FACTOR": "0",
        "RATELIMIT_ENABLED": "0",
    }
