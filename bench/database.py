"""What every bench shares: a PostgreSQL database of its own, dropped and created afresh."""

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
