"""`make bench`: every performance figure of the product in one run, against the targets of issue 9.

1. The dataset (bench/dataset.py) on PostgreSQL (--database-url, default
   postgres://postgres@127.0.0.1:5432/aftersales_bench_run; dropped and created here, never DATABASE_URL's):
   at --scale 1.0, 100,000 customers, 1,000,000 orders and 200,000 cases of a year.
2. The plans of the queues' queries (bench/explain.py): each queue page and list endpoint is asked once
   in this process, and every query it runs is EXPLAINed; a sequential scan of a big table fails the check.
3. HTTP (bench/load.py): gunicorn with the production settings on loopback and Redis as the broker, wrk
   at 1, 8 and 32 clients for --seconds each: requests/s and p50/p95/p99 of each operation and of the
   minimal DRF endpoint on the same server (the ratio is ours ÷ the baseline's).
4. The background work, each its own script on its own database: the deadline sweep
   (bench/deadline_sweep.py, cases/s), refund execution through real workers and the sandbox gateway
   (bench/refunds.py, refunds/s), one price drop fanned out to 100,000 orders (bench/price_drop.py).

Prints a table per part and writes everything, with a description of the machine, to
bench/results/<time>-<host>.json. Needs PostgreSQL and Redis on 127.0.0.1 and wrk (bin/ensure-wrk
installs Debian's). Figures only: the verdicts are printed, nothing fails on a missed target.
Usage: python bench/run.py [--scale 1.0] [--seconds 10] [--clients 1,8,32] [--workers N] [--reuse] [--keep]
                           [--skip explain,http,sweep,refunds,price-drop]
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/aftersales_bench_run"
DEFAULT_BROKER = "redis://127.0.0.1:6379/11"
RESULTS_DIR = BASE_DIR / "bench" / "results"
# The gateway answers at once, so a worker mostly waits on HTTP: 8 processes keep both cores busy.
REFUND_WORKERS = ["--workers", "1", "--concurrency", "8"]
PARTS = ("explain", "http", "sweep", "refunds", "price-drop")


def command_version(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    return ((out.stdout or out.stderr).strip().splitlines() or ["?"])[0]


def machine() -> dict:
    """What the figures were measured on."""
    from django.db import connection

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    import django
    import gunicorn

    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=BASE_DIR, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=BASE_DIR, capture_output=True, text=True).stdout)
    return {
        "host": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "postgresql": postgres,
        "redis": command_version(["redis-server", "--version"]),
        "wrk": command_version(["wrk", "--version"]),
        "commit": commit + ("-dirty" if dirty else ""),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def background(script: str, args: list[str], env: dict[str, str]) -> dict | None:
    """One of the background-work benches as a subprocess (its own database); its --json figures."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        path = Path(out.name)
    print(f"\n== {script} {' '.join(args)}")
    done = subprocess.run([sys.executable, f"bench/{script}", *args, "--json", str(path)], cwd=BASE_DIR, env=env)
    figures = json.loads(path.read_text()) if done.returncode == 0 and path.stat().st_size else None
    path.unlink(missing_ok=True)
    if figures is None:
        print(f"  {script} failed (exit {done.returncode}); its figures are missing from the results")
    return figures


def print_background(results: list[dict]) -> None:
    print(f"\n  {'background work':<24} {'figure':>22}   target")
    for figures in results:
        name = figures["operation"]
        if "cases_per_second" in figures:
            figure, target = (
                f"{figures['cases_per_second']:,.0f} cases/s",
                f"≥ {figures['target_cases_per_second']:,}/s",
            )
        elif "refunds_per_second" in figures:
            figure, target = (
                f"{figures['refunds_per_second']:,.0f} refunds/s",
                f"≥ {figures['target_refunds_per_second']}/s",
            )
        else:
            figure = f"{figures['orders']:,} orders in {figures['seconds']:.1f} s"
            target = f"< {figures['target_seconds']} s, peak RSS {figures['peak_rss_mib']:.0f} MiB"
        print(f"  {name:<24} {figure:>22}   {target}: {'yes' if figures['meets_target'] else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 100k customers, 1M orders, 200k cases")
    parser.add_argument("--seconds", type=float, default=10, help="wrk's run per operation and number of clients")
    parser.add_argument("--clients", default="1,8,32", help="numbers of concurrent clients")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers")
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL; dropped and recreated!")
    parser.add_argument("--broker-url", default=DEFAULT_BROKER, help="Redis; the bench's database is flushed")
    parser.add_argument("--reuse", action="store_true", help="keep the dataset an earlier run built at this scale")
    parser.add_argument("--keep", action="store_true", help="leave the bench database for a look afterwards")
    parser.add_argument("--skip", default="", help=f"parts to leave out, of {','.join(PARTS)}")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    skip = {part for part in args.skip.split(",") if part}
    if unknown := skip - set(PARTS):
        sys.exit(f"--skip: unknown parts {sorted(unknown)}; the parts are {', '.join(PARTS)}")
    url = args.database_url
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"bench/run.py needs PostgreSQL; --database-url is {url!r}")
    if url == os.environ.get("DATABASE_URL"):
        sys.exit("bench/run.py drops its database: give it one that is not DATABASE_URL")
    if "http" not in skip and shutil.which("wrk") is None:
        sys.exit("wrk is not installed: run bin/ensure-wrk (Debian's wrk package)")

    from bench import dataset, explain, load
    from bench.database import checkpoint, drop_database

    started = time.perf_counter()
    size = dataset.sizes(args.scale)
    where = f"{urlparse(url).hostname}/{urlparse(url).path[1:]}"
    print(
        f"== dataset: scale {args.scale:g} ({size['customers']:,} customers, {size['orders']:,} orders, "
        f"{size['cases']:,} cases) on {where}"
    )
    var_dir = Path(tempfile.mkdtemp(prefix="bench-run-"))
    dataset.prepare(url, args.scale, reuse=args.reuse, var_dir=var_dir)
    build_seconds = time.perf_counter() - started
    checkpoint()  # the gigabyte just written is not flushed while the requests are timed
    results = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "scale": args.scale,
        "sizes": size,
        "build_seconds": round(build_seconds),
        "settings": {"seconds": args.seconds, "clients": args.clients, "workers": args.workers},
    }

    if "explain" not in skip:
        print("\n== query plans of the queues")
        results["explain"] = explain.check()

    if "http" not in skip:
        print(f"\n== HTTP: gunicorn ({args.workers} sync workers, production settings), wrk on loopback")
        operations = load.operations()
        from django.db import connections

        connections.close_all()
        env = load.gunicorn_env(url, args.broker_url) | {
            "SECRET_KEY": os.environ["SECRET_KEY"],
            "VAR_DIR": str(var_dir),
        }
        levels = [int(c) for c in args.clients.split(",")]
        with load.Server(env, args.workers) as server:
            http = load.measure(server, operations, levels, args.seconds)
        subprocess.run(["redis-cli", "-u", args.broker_url, "flushdb"], capture_output=True)
        print()
        load.print_table(http)
        results["http"] = http

    from django.db import connections

    checkpoint()  # each background bench also checkpoints its own inserts before it times anything
    connections.close_all()
    if args.keep or args.reuse:
        print(f"\n  kept: {where}")
    else:
        drop_database(url)  # before the background benches: its autovacuum must not run during them

    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    runs = [
        ("sweep", "deadline_sweep.py", ["--cases", str(max(1000, round(100_000 * min(args.scale, 1.0))))]),
        ("refunds", "refunds.py", ["--refunds", str(max(500, round(10_000 * min(args.scale, 1.0)))), *REFUND_WORKERS]),
        ("price-drop", "price_drop.py", ["--orders", str(max(1000, round(100_000 * min(args.scale, 1.0))))]),
    ]
    results["background"] = [
        figures
        for part, script, script_args in runs
        if part not in skip and (figures := background(script, script_args, env)) is not None
    ]

    results["seconds"] = round(time.perf_counter() - started)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{datetime.now():%Y%m%d-%H%M%S}-{platform.node()}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")

    print(f"\n== summary (scale {args.scale:g}, {results['seconds']} s in all, {results['machine']['cores']} cores)")
    if "explain" in results:
        explain.print_summary(results["explain"])
    if "http" in results:
        load.print_table(results["http"])
    if results["background"]:
        print_background(results["background"])
    print(f"\n  results: {path.relative_to(BASE_DIR)}")


if __name__ == "__main__":
    main()
