"""How fast is the staff insight page (/admin/insight/) on a year of data?

On PostgreSQL (--database-url, default postgres://postgres@127.0.0.1:5432/aftersales_bench_insight; the
database is dropped, created and migrated here, so it is never DATABASE_URL's), the shared bench dataset
(bench/dataset.py: at --scale 1.0, 100,000 customers, 1,000,000 orders and 200,000 cases of a year) is
built, rolled up and analysed. Over the last 365 days (the page's longest period, bucketed by week),
each figure of the page is timed warm, median of --runs: its selector with no filter, with a brand filter
and with a kind filter (plus how much of one unfiltered run is SQL), its SVG chart, and the whole page
`GET /admin/insight/` through Django's test Client as a supervisor (median, fastest run, and this
process's CPU time: on a busy machine the wall time also holds waits for a core; the load average is
printed). A table of milliseconds is printed against the target (the page under 500 ms). Figures only,
no assertion.

--explain prints the plan (EXPLAIN ANALYZE, BUFFERS) of every query of the unfiltered selectors.
--reuse keeps a database an earlier run built at the same scale (migrations still run), to time a change
without building again.
Usage: python bench/insight.py [--scale 1.0] [--runs 5] [--explain] [--reuse] [--keep]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/aftersales_bench_insight"
TARGET_MS = 500

from bench.dataset import prepare, sizes  # noqa: E402  (after the path insert above)


class SqlClock:
    """Time spent in SQL (an execute_wrapper), to tell the database's share from Python's."""

    def __init__(self):
        self.seconds = 0.0
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.queries += 1


class Plans:
    """The plan of every query run inside it (an execute_wrapper): EXPLAIN ANALYZE, then the query itself."""

    def __init__(self):
        self.plans: list[tuple[str, list[str]]] = []

    def __call__(self, execute, sql, params, many, context):
        execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params, many, context)
        plan = [row[0] for row in context["cursor"].fetchall()]
        self.plans.append((context["cursor"].mogrify(sql, params).decode(), plan))
        return execute(sql, params, many, context)


def sample(function, runs: int) -> dict[str, float]:
    """Milliseconds over `runs` after a warm one: the median and the fastest wall time, and the median of
    this process's CPU time (on a busy machine the wall time also holds the waits for a core)."""
    function()  # warm: the first call pays for imports, caches and cold pages
    walls, cpus = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu_started)
    return {"wall": 1000 * statistics.median(walls), "best": 1000 * min(walls), "cpu": 1000 * statistics.median(cpus)}


def median_ms(function, runs: int) -> float:
    return sample(function, runs)["wall"]


def measure(runs: int, explain: bool, supervisor) -> None:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone, translation

    from aftersales.insight.dashboard import CHARTS
    from aftersales.insight.forms import InsightForm
    from aftersales.orders.models import Brand

    today = timezone.localdate()
    query = {"start": f"{today - timedelta(days=364):%Y-%m-%d}", "end": f"{today:%Y-%m-%d}"}
    form = InsightForm(query)
    assert form.is_valid(), form.errors
    period = form.filters()
    brand = Brand.objects.get(name="Brand 01")
    variants = {"all": period, "brand": replace(period, brand=brand), "kind": replace(period, kind="return")}
    print(
        f"\n period {query['start']} to {query['end']} ({(period.end - period.start).days} days, "
        f"{len(period.buckets())} weekly buckets); brand filter: {brand.name}; kind filter: return; "
        f"warm, median of {runs} runs, ms"
    )
    header = f"  {'figure':<18} {'all':>8} {'(SQL)':>8} {'brand':>8} {'kind':>8} {'svg':>8}"
    print(header)
    print("  " + "-" * (len(header) - 2))
    totals = dict.fromkeys(["all", "sql", "brand", "kind", "svg"], 0.0)
    translation.activate("en")
    for chart in CHARTS:
        row = {}
        for name, filters in variants.items():
            row[name] = median_ms(lambda c=chart, f=filters: c.rows(f), runs)
        clock = SqlClock()
        with connection.execute_wrapper(clock):  # one more run, to see how much of it is SQL
            rows = chart.rows(period)
        row["sql"] = 1000 * clock.seconds
        row["svg"] = median_ms(lambda c=chart, r=rows: c.svg(r, period), runs)
        for key in totals:
            totals[key] += row[key]
        print(
            f"  {chart.name:<18} {row['all']:8.1f} {row['sql']:8.1f} {row['brand']:8.1f} {row['kind']:8.1f} "
            f"{row['svg']:8.1f}"
        )
    print("  " + "-" * (len(header) - 2))
    print(
        f"  {'total':<18} {totals['all']:8.1f} {totals['sql']:8.1f} {totals['brand']:8.1f} {totals['kind']:8.1f} "
        f"{totals['svg']:8.1f}"
    )
    translation.deactivate()

    client = Client()
    client.force_login(supervisor)
    url = reverse("admin:insight")
    pages = {}
    for name, extra in (("all", {}), ("brand", {"brand": brand.pk}), ("kind", {"kind": "return"})):

        def get(extra=extra):
            response = client.get(url, {**query, **extra})
            if response.status_code != 200:
                raise SystemExit(f"GET {url} answered {response.status_code}")
            return response

        pages[name] = sample(get, runs)
    print(f"\n  page GET {url}?start=…&end=… as a supervisor, ms    all    brand     kind")
    for key, title in (("wall", "median"), ("best", "fastest run"), ("cpu", "this process's CPU (median)")):
        print(f"    {title:<44} " + " ".join(f"{pages[name][key]:8.0f}" for name in ("all", "brand", "kind")))
    loads = " ".join(f"{load:.1f}" for load in os.getloadavg())
    print(f"  load average while measuring: {loads} ({os.cpu_count()} cores)")
    worst = max(page["wall"] for page in pages.values())
    verdict = "within" if worst <= TARGET_MS else "OVER"
    print(f"  target: the page under {TARGET_MS} ms on a year of data -> {verdict} target (slowest {worst:.0f} ms)")

    if explain:
        for chart in CHARTS:
            plans = Plans()
            with connection.execute_wrapper(plans):
                chart.rows(period)
            for sql, plan in plans.plans:
                print(f"\n  EXPLAIN {chart.name}: {sql}")
                for line in plan:
                    print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 100k customers, 1M orders, 200k cases")
    parser.add_argument("--runs", type=int, default=5, help="timed runs after a warm one; the median counts")
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL; dropped and recreated!")
    parser.add_argument("--explain", action="store_true", help="print the plans of the unfiltered selectors' queries")
    parser.add_argument("--reuse", action="store_true", help="keep the database an earlier run built at this scale")
    parser.add_argument("--keep", action="store_true", help="leave the bench database for a look afterwards")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)

    # Never DATABASE_URL: this drops and recreates the database, and a developer's points at real data.
    url = args.database_url
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"bench/insight.py needs PostgreSQL; --database-url is {url!r}")
    if url == os.environ.get("DATABASE_URL"):
        sys.exit("bench/insight.py drops its database: give it one that is not DATABASE_URL")
    where = f"{urlparse(url).hostname}/{urlparse(url).path[1:]}"
    size = sizes(args.scale)
    print(
        f"insight bench: scale {args.scale:g} ({size['customers']:,} customers, {size['orders']:,} orders, "
        f"{size['cases']:,} cases) on {where}"
    )
    from bench.database import drop_database

    prepare(url, args.scale, reuse=args.reuse, var_dir=Path(tempfile.mkdtemp(prefix="bench-insight-")))

    from django.db import connections

    from aftersales.accounts.models import User

    supervisor = User.objects.get(email="supervisor@bench.example")
    measure(args.runs, args.explain, supervisor)

    connections.close_all()
    if args.keep or args.reuse:
        print(f"\n  kept: {where}")
    else:
        drop_database(url)
        print(f"\n  dropped: {where}")


if __name__ == "__main__":
    main()
