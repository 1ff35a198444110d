"""How many approved refunds per second do real workers pay through the sandbox gateway?

On PostgreSQL (--database-url, default postgres://postgres@127.0.0.1:5432/aftersales_bench_refunds;
dropped, created and migrated here) and Redis (--broker-url, default redis://127.0.0.1:6379/10;
flushed here), N prepaid orders of 100.00 and N approved refunds of 60.00 to the original payment are
inserted in bulk, and the sandbox provider's store gets each order's captured payment. Then the
sandbox process and W Celery workers (prefork, C processes each) start with the same settings, and
the clock runs from the first nudge to the last refund paid.

The work is enqueued as production does it: one nudge per refund (`execution.nudge`), as approving a
refund sends one after commit, with the cache in Redis as docker-compose has it (a nudge waiting in
the queue makes the next ones unneeded). No beat, so `sweep_refunds` never helps; a refund the
nudges leave behind shows up in the counts by state.

Printed: refunds/s, and what the sandbox says it did: refunds that moved money (must be N, once per
idempotency key) and refund requests received (more than N means retried calls). Figures only, no
assertion. Usage: python bench/refunds.py [--refunds 10000] [--workers 1] [--concurrency 2] [--json PATH]
"""

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.database import checkpoint, timed, write_json  # noqa: E402  (after the path insert above)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/aftersales_bench_refunds"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/10"
CUSTOMERS = 100
PAID = Decimal("100.00")
REFUND = Decimal("60.00")
STOP_SECONDS = 20
TARGET_REFUNDS_PER_SECOND = 300


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def insert_refunds(count: int) -> list[int]:
    """N prepaid orders (one line each) and one approved refund per order; the refunds' ids."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from aftersales.accounts.models import User
    from aftersales.finance.models import Refund
    from aftersales.orders.models import Brand, Category, Order, OrderLine, PaymentMode, Product

    now = timezone.now()
    password = make_password(None)
    customers = User.objects.bulk_create(
        [User(email=f"bench{n}@example.com", full_name=f"Bench {n}", password=password) for n in range(CUSTOMERS)]
    )
    product = Product.objects.create(
        sku="BENCH-1",
        name="Bench kettle",
        brand=Brand.objects.create(name="Bench"),
        category=Category.objects.create(name="Bench", slug="bench"),
        price=PAID,
    )
    orders = Order.objects.bulk_create(
        [
            Order(
                number=f"BENCH-{n:07d}",
                customer=customers[n % CUSTOMERS],
                payment_mode=PaymentMode.PREPAID,
                goods_total=PAID,
                paid_total=PAID,
                placed_at=now - timedelta(days=3),
                paid_at=now - timedelta(days=3),
            )
            for n in range(count)
        ],
        batch_size=5000,
    )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                line_no=1,
                product=product,
                product_name=product.name,
                quantity=1,
                unit_price=PAID,
                paid_amount=PAID,
            )
            for order in orders
        ],
        batch_size=5000,
    )
    refunds = Refund.objects.bulk_create(
        [
            Refund(
                order=order,
                source=Refund.Source.GOODWILL,
                amount=REFUND,
                state=Refund.State.APPROVED,
                destination=Refund.Destination.ORIGINAL_PAYMENT,
                idempotency_key=f"bench-refund-{order.number}",
            )
            for order in orders
        ],
        batch_size=5000,
    )
    return [refund.pk for refund in refunds]


def capture_payments(store_path: Path) -> int:
    """Each order's payment, as the storefront's checkout captured it at the provider. The rows
    `Store.capture_payment` writes, written in one transaction before the sandbox starts (one
    capture per call costs ~6 ms, a minute for 10,000)."""
    from aftersales.finance.sandbox.store import Store, now
    from aftersales.orders.models import Order

    store = Store(store_path)
    rows = [
        (number, str(paid), currency, now())
        for number, paid, currency in Order.objects.values_list("number", "paid_total", "currency")
    ]
    with store.connection() as db:
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO payments (reference, amount, currency, created_at) VALUES (?, ?, ?, ?)", rows)
        db.execute("COMMIT")
    if store.payment(rows[0][0])["amount"] != str(PAID):  # read back through the store's own API
        raise RuntimeError("the sandbox's store does not read back the payments written")
    store.close()
    return len(rows)


class Processes:
    """The sandbox and the workers, each in its own process group, stopped whatever happens."""

    def __init__(self, directory: Path, env: dict):
        self.directory, self.env = directory, env
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        with (self.directory / f"{name}.log").open("wb") as out:
            process = subprocess.Popen(
                command, cwd=BASE_DIR, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append((name, process))
        return process

    def log(self, name: str) -> str:
        return (self.directory / f"{name}.log").read_text(errors="replace")

    def check_alive(self) -> None:
        for name, process in self.started:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log(name)[-3000:]}")

    def stop_all(self) -> None:
        for _name, process in self.started:  # a warm shutdown: workers finish the task in hand
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for _name, process in self.started:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def wait_for_sandbox(processes: Processes, url: str) -> None:
    import httpx

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        processes.check_alive()
        try:
            if httpx.get(f"{url}/_health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"the sandbox did not answer /_health:\n{processes.log('sandbox')}")


def wait_for_workers(processes: Processes, names: list[str]) -> None:
    from aftersales.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        processes.check_alive()
        answered = {name for reply in app.control.ping(destination=names, timeout=1) for name in reply}
        if answered >= set(names):
            return
    raise RuntimeError("the workers did not answer a ping within 60 s")


def counts_by_state() -> dict[str, int]:
    from django.db.models import Count

    from aftersales.finance.models import Refund

    return dict(Refund.objects.values_list("state").annotate(n=Count("id")).order_by())


def sandbox_stats(url: str, secret: str) -> dict:
    import httpx

    from aftersales.finance.gateways.sandbox import SECRET_HEADER

    response = httpx.get(f"{url}/_stats", headers={SECRET_HEADER: secret}, timeout=10)
    response.raise_for_status()
    return response.json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refunds", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (celery worker)")
    parser.add_argument("--concurrency", type=int, default=2, help="prefork pool size per worker (compose: 2)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for every refund")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="dropped and recreated!")
    parser.add_argument("--broker-url", default=DEFAULT_BROKER_URL, help="flushed!")
    parser.add_argument("--json", metavar="PATH", help="also write the headline figures to PATH as JSON")
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"bench/refunds.py needs PostgreSQL; --database-url is {args.database_url!r}")
    if not args.broker_url.startswith("redis://"):
        sys.exit(f"bench/refunds.py needs Redis; --broker-url is {args.broker_url!r}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # clean up as on Ctrl-C
    sys.stdout.reconfigure(line_buffering=True)  # progress shows under make or a pipe

    directory = Path(tempfile.mkdtemp(prefix="bench-refunds-"))
    sandbox_url = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DATABASE_CONN_MAX_AGE": "60",  # as docker-compose runs the worker
        "CELERY_BROKER_URL": args.broker_url,
        "CACHE_URL": args.broker_url,  # shared by the processes, as docker-compose.yml's Redis cache
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PAYMENT_GATEWAY": "sandbox",
        "PAYMENT_GATEWAY_URL": sandbox_url,
        "PAYMENT_GATEWAY_SECRET": secrets.token_urlsafe(24),
        "SECRET_KEY": "bench-only-secret-key-" + secrets.token_urlsafe(40),
        "DEBUG": "0",
        "HTTPS": "0",
        "LOG_LEVEL": "WARNING",
        "VAR_DIR": str(directory / "var"),
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "aftersales.settings"
    where = f"{urlparse(args.database_url).hostname}/{urlparse(args.database_url).path[1:]}"
    shape = f"{args.workers} worker(s) x concurrency {args.concurrency}"
    print(f"refund bench: {args.refunds:,} approved refunds on {where}, {args.broker_url}, {shape}")
    print(f"  logs and the sandbox's books in {directory} (removed after a clean run)")

    import django
    import redis

    from bench.database import recreate_database

    recreate_database(args.database_url)
    redis.Redis.from_url(args.broker_url).flushdb()
    django.setup()

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from aftersales.finance.execution import nudge

    timed("migrate", call_command, "migrate", verbosity=0)
    refund_ids, _ = timed(f"insert {args.refunds:,} orders and refunds", insert_refunds, args.refunds)
    timed("capture the payments in the sandbox's store", capture_payments, directory / "sandbox.sqlite3")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    checkpoint()

    processes = Processes(directory, env)
    try:
        python = sys.executable
        sandbox_port = urlparse(sandbox_url).port
        sandbox = [
            "-m",
            "aftersales.finance.sandbox",
            "--port",
            str(sandbox_port),
            "--db",
            str(directory / "sandbox.sqlite3"),
        ]
        processes.start("sandbox", [python, *sandbox])
        wait_for_sandbox(processes, sandbox_url)
        names = [f"bench-refunds-{n}@{socket.gethostname()}" for n in range(1, args.workers + 1)]
        for n, name in enumerate(names, start=1):
            worker = ["-m", "celery", "-A", "aftersales", "worker", "--pool=prefork", "--loglevel=warning"]
            worker += [f"--concurrency={args.concurrency}", "--without-gossip", "--without-mingle", "--hostname", name]
            processes.start(f"worker-{n}", [python, *worker])
        timed(f"start the sandbox and {args.workers} worker(s)", wait_for_workers, processes, names)

        started, started_at = time.perf_counter(), timezone.now()
        for _refund_id in refund_ids:  # the nudge each approval sends after commit
            nudge()
        enqueued = time.perf_counter() - started
        deadline = started + args.timeout
        while True:
            counts = counts_by_state()
            if not counts.get("approved") and not counts.get("processing"):
                break
            if time.perf_counter() > deadline:
                print(f"\n!! TIMEOUT after {args.timeout:.0f} s; refunds by state: {counts}")
                break
            processes.check_alive()
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        from django.db.models import Max

        from aftersales.finance.models import Refund

        last_paid = Refund.objects.aggregate(last=Max("paid_at"))["last"]
        if last_paid and not counts.get("approved") and not counts.get("processing"):
            seconds = (last_paid - started_at).total_seconds()  # not rounded up to the next poll
        stats = sandbox_stats(sandbox_url, env["PAYMENT_GATEWAY_SECRET"])
    finally:
        processes.stop_all()

    succeeded, failed = counts.get("succeeded", 0), counts.get("failed", 0)
    other = sum(counts.values()) - succeeded - failed
    executed = stats["refunds_executed"]
    per_second = succeeded / seconds
    rows = [
        ("refunds", f"{args.refunds:,}"),
        ("workers x concurrency", f"{args.workers} x {args.concurrency}"),
        ("enqueued in", f"{enqueued:.2f} s"),
        ("seconds (first nudge to last paid)", f"{seconds:.2f}"),
        ("refunds/s", f"{per_second:,.0f}"),
        ("gateway refunds that moved money", f"{executed:,}"),
        ("gateway refund requests received", f"{stats['refund_requests']:,}"),
        ("succeeded / failed / other", f"{succeeded:,} / {failed:,} / {other:,}"),
    ]
    print()
    for label, value in rows:
        print(f"  {label:<36} {value:>14}")
    if other:
        unfinished = {state: n for state, n in counts.items() if state not in ("succeeded", "failed")}
        print(f"  not finished, by state: {unfinished}")
    if executed != args.refunds:
        word = "MORE" if executed > args.refunds else "FEWER"
        print(f"\n!!! THE GATEWAY MOVED MONEY {executed:,} TIMES FOR {args.refunds:,} REFUNDS ({word}) !!!")
    elif succeeded == args.refunds:
        shutil.rmtree(directory)
    if args.json:
        write_json(
            args.json,
            {
                "operation": "refund execution",
                "refunds": args.refunds,
                "workers": args.workers,
                "concurrency": args.concurrency,
                "seconds": round(seconds, 3),
                "refunds_per_second": round(per_second, 1),
                "moved_money": executed,
                "requests_received": stats["refund_requests"],
                "target_refunds_per_second": TARGET_REFUNDS_PER_SECOND,
                "meets_target": per_second >= TARGET_REFUNDS_PER_SECOND and executed == args.refunds,
            },
        )


if __name__ == "__main__":
    main()
