"""How long does one regular price drop take to reach every order in its price-protection window, and
how much memory does it need?

On PostgreSQL (--database-url, default postgres://postgres@127.0.0.1:5432/aftersales_bench_price_drop;
dropped, created and migrated here, dropped again at the end unless --keep) or on SQLite for a quick
check (--sqlite: a temporary file), N in-window prepaid orders of one product (1 to 3 units at 1,999.00,
half still on their way, half signed for inside the 7-day window) from C customers are inserted in
bulk, with N/10 orders the drop must not reach (window closed, B2B, cancelled, paid less than the new
price) and N orders of 20 other products, shuffled over the ids as a shop's orders are. Then the
product's regular price is cut to 1,799.00 through the catalog service, and
`priceprotect.services.sweep_price_drop` runs in this process (not through Celery; the e-mail nudges it
queues after each batch go to an in-memory broker), twice on the same rows:

  1. timed: wall time, orders/s, time in SQL by statement kind, peak RSS (getrusage maxrss, its peak
     reset first where Linux allows, so it is the sweep's own);
  2. after deleting what run 1 wrote, under tracemalloc: the peak of the Python heap (the in-memory
     broker keeps the queued e-mail messages, about 9 KB a batch: the only part that grows with N).

Then `priceprotect.selectors.exposure` (what the cut costs if every order claims) is timed for the
same product and price. --explain prints the plans of the sweep's first batch query and of one late
in the run (taken as they run), and of the exposure query. Figures only, no assertion.
Usage: python bench/price_drop.py [--orders 100000] [--other-orders N] [--customers 20000] [--batch-size N]
                                 [--explain] [--profile] [--keep] [--json PATH]
       python bench/price_drop.py --sqlite --orders 5000
"""

import argparse
import cProfile
import os
import pstats
import random
import resource
import secrets
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.database import checkpoint, timed, write_json  # noqa: E402  (after the path insert above)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/aftersales_bench_price_drop"
PAID = Decimal("1999.00")
NEW_PRICE = Decimal("1799.00")
INSERT_BATCH = 5000
OTHER_PRODUCTS = 20
TARGET_SECONDS = 60


def setup_django(url: str, var_dir: Path) -> None:
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "aftersales.settings",
            "DEBUG": "0",  # DEBUG keeps every query in memory, which would be measured with the sweep
            "HTTPS": "0",
            "SECRET_KEY": "bench-only-secret-key-" + secrets.token_urlsafe(40),
            "LOG_LEVEL": "WARNING",
            "VAR_DIR": str(var_dir),
            # The sweep queues e-mail tasks after each batch commits: an in-memory broker, no worker.
            "CELERY_BROKER_URL": "memory://localhost/",
            "CELERY_TASK_ALWAYS_EAGER": "0",
        }
    )
    import django

    django.setup()


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def reset_peak_rss() -> bool:
    """Start the peak RSS afresh (Linux: /proc/self/clear_refs), so maxrss after the sweep is the
    sweep's own peak, not the inserts'."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def insert_orders(count: int, others: int, customers: int):
    """`count` in-window orders of the bench product, count/10 of it the drop must not reach, and
    `others` orders of other products, interleaved over the ids as a shop's are; in batches."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from aftersales.accounts.models import User
    from aftersales.orders.models import Brand, Category, Order, OrderLine, PaymentMode, PriceChange, Product

    now = timezone.now()
    password = make_password(None)
    languages = ["zh-hans", "en", ""]
    for start in range(0, customers, INSERT_BATCH):
        User.objects.bulk_create(
            User(
                email=f"bench{n}@example.com",
                full_name=f"Bench {n}",
                password=password,
                preferred_language=languages[n % 3],
            )
            for n in range(start, min(start + INSERT_BATCH, customers))
        )
    first_customer = User.objects.order_by("pk").values_list("pk", flat=True).first()
    category = Category.objects.create(name="Bench phones", slug="bench-phones", price_protection_days=7)
    brand = Brand.objects.create(name="Bench")
    product, *other_products = [
        Product.objects.create(sku=f"BENCH-{n}", name=f"Bench phone {n}", brand=brand, category=category, price=PAID)
        for n in range(1 + OTHER_PRODUCTS)
    ]
    PriceChange.objects.create(product=product, price=PAID, effective_at=now - timedelta(days=90))

    def order(n: int, kind: str) -> tuple[Order, list[tuple[Product, int, Decimal]]]:
        """Order n and its lines (product, quantity, discount)."""
        quantity, discount = 1 + n % 3, Decimal("50.00") if n % 4 == 0 else Decimal("0.00")
        placed = now - timedelta(days=3, minutes=n % 600)
        values = {"placed_at": placed, "paid_at": placed + timedelta(minutes=5)}
        if n % 2:  # half left the warehouse two days ago; half of those were signed for yesterday
            values["left_warehouse_at"] = placed + timedelta(days=1)
        if n % 4 == 1:
            values["signed_for_at"] = now - timedelta(days=1, minutes=n % 600)
        if kind == "out":  # not reached: the window closed, B2B, cancelled, or paid less than the new price
            if n % 4 == 0:
                placed = now - timedelta(days=25)
                values = {"placed_at": placed, "paid_at": placed, "left_warehouse_at": placed + timedelta(days=1)}
                values["signed_for_at"] = placed + timedelta(days=2)
            elif n % 4 == 1:
                values["is_b2b"] = True
            elif n % 4 == 2:
                values["cancelled_at"] = placed + timedelta(hours=1)
            else:
                discount = quantity * (PAID - NEW_PRICE) + Decimal("1.00")
        lines = [(other_products[n % OTHER_PRODUCTS] if kind == "other" else product, quantity, discount)]
        if n % 5 == 0:  # one order in five has a second product on it
            lines.append((other_products[(n + 1) % OTHER_PRODUCTS], 1, Decimal("0.00")))
        goods = sum((PAID * q for _p, q, _d in lines), Decimal("0.00"))
        discounts = sum((d for _p, _q, d in lines), Decimal("0.00"))
        header = Order(
            number=f"BENCH-{n:07d}",
            customer_id=first_customer + n % customers,
            payment_mode=PaymentMode.PREPAID,
            goods_total=goods,
            discount_total=discounts,
            paid_total=goods - discounts,
            **values,
        )
        return header, lines

    kinds = ["in"] * count + ["out"] * (count // 10) + ["other"] * others
    random.Random(20260601).shuffle(kinds)
    for start in range(0, len(kinds), INSERT_BATCH):
        rows = [order(n, kinds[n]) for n in range(start, min(start + INSERT_BATCH, len(kinds)))]
        headers = Order.objects.bulk_create([header for header, _lines in rows])
        OrderLine.objects.bulk_create(
            OrderLine(
                order_id=header.pk,
                line_no=line_no,
                product=line_product,
                product_name=line_product.name,
                quantity=quantity,
                unit_price=PAID,
                discount=discount,
                paid_amount=PAID * quantity - discount,
            )
            for header, (_h, lines) in zip(headers, rows, strict=True)
            for line_no, (line_product, quantity, discount) in enumerate(lines, start=1)
        )
    return product


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def explain_here(execute, sql, params, many, context) -> list[str]:
    """The plan of a query about to run, on its own connection (PostgreSQL: run, with buffers)."""
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if context["connection"].vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    execute(prefix + sql, params, many, context)
    return [" ".join(str(cell) for cell in row) for row in context["cursor"].fetchall()]


class BatchQueries:
    """How long each of the sweep's batch queries took, in order (an execute_wrapper): flat if a
    batch reads about a batch of rows, rising if each reads everything told before it. With
    `explain_at`, the plans of those batches too, taken as they run."""

    def __init__(self, explain_at=()):
        self.seconds: list[float] = []
        self.explain_at = set(explain_at)
        self.plans: list[tuple[int, list[str]]] = []

    def __call__(self, execute, sql, params, many, context):
        if not (sql.startswith("SELECT") and "GROUP BY" in sql):
            return execute(sql, params, many, context)
        if len(self.seconds) in self.explain_at:
            self.plans.append((len(self.seconds), explain_here(execute, sql, params, many, context)))
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds.append(time.perf_counter() - started)

    def report(self) -> None:
        tenth = max(len(self.seconds) // 10, 1)
        first, last = self.seconds[:tenth], self.seconds[-tenth:]
        print(
            f"    batch query: {len(self.seconds)}x, first tenth {1000 * sum(first) / len(first):.1f} ms each, "
            f"last tenth {1000 * sum(last) / len(last):.1f} ms each"
        )


class Plans:
    """The plan of every query run inside it (an execute_wrapper)."""

    def __init__(self):
        self.plans: list[list[str]] = []

    def __call__(self, execute, sql, params, many, context):
        self.plans.append(explain_here(execute, sql, params, many, context))
        return execute(sql, params, many, context)


def print_plan(title: str, plan: list[str]) -> None:
    print(f"\n  EXPLAIN {title}:")
    for line in plan:
        print(f"    {line}")


def reset_sweep(entry) -> None:
    """Back to just after the drop: the offers and notifications of the run before are gone."""
    from aftersales.cases.models import Notification
    from priceprotect.models import PriceDropOffer

    PriceDropOffer.objects.filter(price_change=entry).delete()
    Notification.objects.all().delete()
    analyze()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000, help="orders in the window")
    parser.add_argument("--other-orders", type=int, default=None, help="orders of other products (default: --orders)")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=None, help="default: priceprotect.services.SWEEP_BATCH")
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL; dropped and recreated!")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead (quick check)")
    parser.add_argument("--explain", action="store_true", help="print the plans of the sweep's queries")
    parser.add_argument("--keep", action="store_true", help="leave the bench database for a look afterwards")
    parser.add_argument("--profile", action="store_true", help="print the timed sweep's top functions (cProfile)")
    parser.add_argument("--json", metavar="PATH", help="also write the headline figures to PATH as JSON")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)

    directory = Path(tempfile.mkdtemp(prefix="bench-price-drop-"))
    if args.sqlite:
        url = f"sqlite:///{directory / 'bench.sqlite3'}"
        where = "SQLite (a temporary file)"
    else:
        # Never DATABASE_URL: this drops and recreates the database, and a developer's points at real data.
        url = args.database_url
        if not url.startswith(("postgres://", "postgresql://")):
            sys.exit(f"bench/price_drop.py runs on PostgreSQL (or --sqlite); --database-url is {url!r}")
        if url == os.environ.get("DATABASE_URL"):
            sys.exit("bench/price_drop.py drops its database: give it one that is not DATABASE_URL")
        where = f"{urlparse(url).hostname}/{urlparse(url).path[1:]}"
        from bench.database import recreate_database

        recreate_database(url)
    print(f"price drop bench: {args.orders:,} orders in the window, {args.customers:,} customers, on {where}")
    setup_django(url, directory / "var")

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone

    from aftersales.cases.models import Notification
    from aftersales.orders.models import PriceKind
    from aftersales.orders.services import record_price_change
    from bench.deadline_sweep import SqlTimer
    from priceprotect import selectors, services
    from priceprotect.models import PriceDropOffer

    batch_size = args.batch_size or services.SWEEP_BATCH
    timed("migrate", call_command, "migrate", verbosity=0)
    others = args.orders if args.other_orders is None else args.other_orders
    total = args.orders + args.orders // 10 + others
    product, _seconds = timed(
        f"insert {total:,} orders ({args.orders:,} in the window)", insert_orders, args.orders, others, args.customers
    )
    timed("analyze", analyze)
    if connection.vendor == "postgresql":
        checkpoint()
    entry, _created = record_price_change(
        product=product, price=NEW_PRICE, kind=PriceKind.REGULAR, effective_at=timezone.now() - timedelta(seconds=1)
    )  # its own sweep is queued to the in-memory broker after commit and never runs
    print(f"  regular price {product.price} -> {entry.price}; batch size {batch_size:,}")

    expected_batches = -(-args.orders // batch_size)
    sql = SqlTimer()
    batches = BatchQueries(explain_at={0, expected_batches * 9 // 10} if args.explain else ())
    rss_reset = reset_peak_rss()
    rss_before = maxrss_mib()
    profiler = cProfile.Profile() if args.profile else None
    with connection.execute_wrapper(sql), connection.execute_wrapper(batches):
        if profiler:
            profiler.enable()
        reached, seconds = timed(
            "sweep_price_drop (1: timed)", services.sweep_price_drop, entry_id=entry.pk, batch_size=batch_size
        )
        if profiler:
            profiler.disable()
    rss_after = maxrss_mib()
    sql.report(seconds)
    batches.report()
    offers, notices = PriceDropOffer.objects.filter(price_change=entry).count(), Notification.objects.count()

    timed("reset the sweep's rows", reset_sweep, entry)
    tracemalloc.start()
    again, traced_seconds = timed(
        "sweep_price_drop (2: under tracemalloc)", services.sweep_price_drop, entry_id=entry.pk, batch_size=batch_size
    )
    _current, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    exposure, exposure_seconds = timed("selectors.exposure", selectors.exposure, product, NEW_PRICE)
    if args.explain:
        for index, plan in batches.plans:
            print_plan(f"the sweep's batch query no. {index + 1} of {len(batches.seconds)}", plan)
        plans = Plans()
        with connection.execute_wrapper(plans):
            selectors.exposure(product, NEW_PRICE)
        for plan in plans.plans:
            print_plan("selectors.exposure", plan)

    rows = [
        ("orders in the window", f"{args.orders:,}"),
        ("orders reached (returned by the sweep)", f"{reached:,}"),
        ("price-drop offers created", f"{offers:,}"),
        ("notifications created", f"{notices:,}"),
        ("sweep seconds", f"{seconds:.2f}"),
        ("orders/s", f"{reached / seconds:,.0f}" if seconds else "-"),
        ("peak Python heap in the sweep (tracemalloc)", f"{heap_peak / 2**20:,.1f} MiB"),
        ("RSS when the sweep starts" if rss_reset else "peak RSS before the sweep", f"{rss_before:,.1f} MiB"),
        ("peak RSS during the sweep" if rss_reset else "peak RSS after the sweep", f"{rss_after:,.1f} MiB"),
        ("second run reached (tracemalloc slows it)", f"{again:,} in {traced_seconds:.2f} s"),
        ("exposure seconds", f"{exposure_seconds:.2f}"),
        ("exposure", f"{exposure['orders']:,} orders, {exposure['units']:,} units, {exposure['amount']:,}"),
    ]
    print()
    for label, value in rows:
        print(f"  {label:<46} {value:>28}")
    if reached != args.orders or offers != args.orders or exposure["orders"] != args.orders:
        print(f"\n!!! EXPECTED {args.orders:,} ORDERS REACHED, OFFERED AND EXPOSED !!!")
    if profiler:
        print("\nsweep profile (cumulative, top 25):")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        print("sweep profile (own time, top 15):")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    if args.json:
        write_json(
            args.json,
            {
                "operation": "price-drop fan-out",
                "orders": args.orders,
                "seconds": round(seconds, 3),
                "orders_per_second": round(reached / seconds) if seconds else None,
                "peak_rss_mib": round(rss_after, 1),
                "python_heap_peak_mib": round(heap_peak / 2**20, 1),
                "target_seconds": TARGET_SECONDS,
                "meets_target": seconds <= TARGET_SECONDS,
            },
        )

    connections.close_all()
    name = settings.DATABASES["default"]["NAME"]
    if args.keep:
        print(f"\n  kept: {name}")
        return
    if not args.sqlite:
        from bench.database import drop_database

        drop_database(url)
    shutil.rmtree(directory)
    print(f"\n  dropped: {name}")


if __name__ == "__main__":
    main()
