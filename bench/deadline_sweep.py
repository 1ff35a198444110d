"""How fast is the deadline sweeper compared with the bare UPDATE it must at least do?

On PostgreSQL (--database-url, default postgres://postgres@127.0.0.1:5432/aftersales_bench; the
database is dropped, created and migrated here, so it is never DATABASE_URL's), N overdue
`awaiting_parcel` returns are inserted in bulk, then timed twice:

  1. sweep_due_deadlines(): status change, timeline events, notifications, e-mail enqueue;
  2. after resetting the same rows, one raw
     UPDATE cases_case SET status='expired', deadline_at=NULL, deadline_action='' WHERE deadline_at <= now()

and the ratio is printed against the target (the sweeper within 3× the raw UPDATE). Figures only,
no assertion. Usage: python bench/deadline_sweep.py [--cases 100000] [--batch-size N] [--profile] [--json PATH]
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.database import checkpoint, timed, write_json  # noqa: E402  (after the path insert above)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/aftersales_bench"
TARGET_RATIO = 3.0
TARGET_CASES_PER_SECOND = 20_000
CUSTOMERS = 1000


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The sweeper enqueues e-mail tasks after commit: publish them to an in-memory broker (the cost
    # of publishing stays in the figure; no worker, no e-mails).
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    import django

    django.setup()


def insert_cases(count: int) -> None:
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from aftersales.accounts.models import User
    from aftersales.cases.models import Case, CaseKind

    now = timezone.now()
    password = make_password(None)
    User.objects.bulk_create(
        [User(email=f"bench{n}@example.com", full_name=f"Bench {n}", password=password) for n in range(CUSTOMERS)],
        batch_size=1000,
    )
    customer_ids = list(User.objects.filter(email__startswith="bench").values_list("id", flat=True))
    batch = []
    for n in range(count):
        batch.append(
            Case(
                number=f"RMA-BENCH-{n:07d}",
                kind=CaseKind.RETURN,
                customer_id=customer_ids[n % len(customer_ids)],
                status="awaiting_parcel",
                opened_at=now - timedelta(days=10),
                deadline_at=now - timedelta(days=1, seconds=n % 86400),
                deadline_action="expire_unshipped",
            )
        )
        if len(batch) == 10_000:
            Case.objects.bulk_create(batch)
            batch = []
    Case.objects.bulk_create(batch)


def reset_cases() -> None:
    """Back to the starting point: same rows overdue again, sweeper's events and notices gone."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_caseevent")
        cursor.execute("DELETE FROM cases_notification")
        cursor.execute(
            "UPDATE cases_case SET status = 'awaiting_parcel', closed_at = NULL, version = 1, "
            "deadline_at = opened_at + interval '9 days', deadline_action = 'expire_unshipped'"
        )
        cursor.execute("VACUUM ANALYZE cases_case")
        cursor.execute("VACUUM ANALYZE cases_caseevent")
        cursor.execute("VACUUM ANALYZE cases_notification")


def raw_update() -> int:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_case SET status = 'expired', deadline_at = NULL, deadline_action = '' "
            "WHERE deadline_at <= now()"
        )
        return cursor.rowcount


class SqlTimer:
    """Database time spent in the sweeper, by statement kind (an execute_wrapper)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def __call__(self, execute, sql, params, many, context):
        words = sql.split()
        kind = " ".join(words[:5]) if words[0] in {"INSERT", "UPDATE", "DELETE"} else words[0]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds[kind] = self.seconds.get(kind, 0.0) + time.perf_counter() - started
            self.counts[kind] = self.counts.get(kind, 0) + 1

    def report(self, total: float) -> None:
        in_sql = sum(self.seconds.values())
        print(f"    time in SQL {in_sql:.2f} s ({in_sql / total:.0%}), in Python {total - in_sql:.2f} s:")
        for kind, seconds in sorted(self.seconds.items(), key=lambda item: -item[1]):
            print(f"      {seconds:7.2f} s  {self.counts[kind]:5d}x  {kind}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None, help="default: DEADLINE_SWEEP_BATCH_SIZE")
    parser.add_argument("--rounds", type=int, default=3, help="sweep/raw pairs to run; the median ratio counts")
    parser.add_argument("--profile", action="store_true", help="print the sweeper's top functions (cProfile)")
    parser.add_argument("--database-url", default=DEFAULT_URL, help="dropped and recreated here")
    parser.add_argument("--json", metavar="PATH", help="also write the headline figures to PATH as JSON")
    args = parser.parse_args()

    # Never DATABASE_URL: this drops and recreates the database, and a developer's points at real data.
    url = args.database_url
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"bench/deadline_sweep.py needs PostgreSQL; --database-url is {url!r}")
    where = f"{urlparse(url).hostname}/{urlparse(url).path[1:]}"
    print(f"deadline sweep bench: {args.cases:,} overdue returns on {where}")
    from bench.database import recreate_database

    recreate_database(url)
    setup_django(url)

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from aftersales.cases.deadlines import sweep_due_deadlines
    from aftersales.cases.models import Case, CaseEvent, Notification

    batch_size = args.batch_size or settings.DEADLINE_SWEEP_BATCH_SIZE
    timed("migrate", call_command, "migrate", verbosity=0)
    timed(f"insert {args.cases:,} cases", insert_cases, args.cases)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE cases_case")

    profiler = cProfile.Profile() if args.profile else None
    ratios, sweep_times, raw_times = [], [], []
    for round_no in range(1, args.rounds + 1):
        print(f" round {round_no}")
        if round_no > 1:
            timed("reset the same rows", reset_cases)
        checkpoint()
        sql_timer = SqlTimer()
        if profiler:
            profiler.enable()
        with connection.execute_wrapper(sql_timer):
            handled, sweep_seconds = timed(
                f"sweep_due_deadlines(batch_size={batch_size})", sweep_due_deadlines, batch_size=batch_size
            )
        if profiler:
            profiler.disable()
        sql_timer.report(sweep_seconds)
        expired = Case.objects.filter(status="expired").count()
        events = CaseEvent.objects.count()
        notices = Notification.objects.count()
        print(f"    handled {handled:,}; expired {expired:,}; events {events:,}; notifications {notices:,}")

        timed("reset the same rows", reset_cases)
        checkpoint()
        updated, raw_seconds = timed("raw UPDATE ... WHERE deadline_at <= now()", raw_update)
        print(f"    updated {updated:,}; ratio {sweep_seconds / raw_seconds:.1f}x")
        ratios.append(sweep_seconds / raw_seconds)
        sweep_times.append(sweep_seconds)
        raw_times.append(raw_seconds)

    ratio = statistics.median(ratios)
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print()
    print(
        f"median of {args.rounds}: sweeper {statistics.median(sweep_times):.2f} s, "
        f"raw UPDATE {statistics.median(raw_times):.2f} s, ratio {ratio:.1f}x "
        f"(each round: {', '.join(f'{r:.1f}x' for r in ratios)})"
    )
    print(f"target: sweeper within {TARGET_RATIO:.0f}x the raw UPDATE -> {verdict} target")
    sweep_seconds, raw_seconds = statistics.median(sweep_times), statistics.median(raw_times)
    throughput = args.cases / sweep_seconds
    print(f"sweeper throughput {throughput:,.0f} cases/s")

    if profiler:
        print("\nsweeper profile (cumulative, top 25):")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        print("sweeper profile (own time, top 15):")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)

    if args.json:
        write_json(
            args.json,
            {
                "operation": "deadline sweep",
                "cases": args.cases,
                "seconds": round(sweep_seconds, 3),
                "cases_per_second": round(throughput),
                "raw_update_seconds": round(raw_seconds, 3),
                "ratio_to_raw_update": round(ratio, 2),
                "target_cases_per_second": TARGET_CASES_PER_SECOND,
                "meets_target": throughput >= TARGET_CASES_PER_SECOND,
            },
        )


if __name__ == "__main__":
    main()
