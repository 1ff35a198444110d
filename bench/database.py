"""What every bench shares: a PostgreSQL database of its own, dropped and created afresh; timing and
the JSON figures."""

import json
import time
from pathlib import Path
from urllib.parse import urlparse


def _run_on_server(url: str, *statements: str) -> str:
    """Run `statements` on the server of `url`, connected to its `postgres` database; returns the name
    of `url`'s own database (the one the statements are about)."""
    import psycopg2

    parsed = urlparse(url)
    conn = psycopg2.connect(
        dbname="postgres",
        user=parsed.username or "postgres",
        password=parsed.password or None,
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
    )
    conn.autocommit = True
    name = parsed.path.lstrip("/")
    with conn.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement.format(name=name))
    conn.close()
    return name


def recreate_database(url: str) -> None:
    """Dropped and created, with the planner setting docker-compose.yml gives production's server."""
    _run_on_server(
        url,
        'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        'CREATE DATABASE "{name}"',
        'ALTER DATABASE "{name}" SET random_page_cost = 1.1',
    )


def drop_database(url: str) -> None:
    _run_on_server(url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed(label: str, function, *args, **kwargs):
    """`function(*args, **kwargs)`, printing how long it took; returns (its result, seconds)."""
    started = time.perf_counter()
    result = function(*args, **kwargs)
    elapsed = time.perf_counter() - started
    print(f"  {label:<52} {elapsed:8.2f} s")
    return result, elapsed


def write_json(path: str, figures: dict) -> None:
    """A bench's headline figures, machine-readable (--json), for whatever runs it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


def checkpoint() -> None:
    """Write out the pages left dirty by what came before (inserts, a reset, an earlier bench), so the
    server does not write them while the next step is timed. Needs a superuser (or pg_checkpoint)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
