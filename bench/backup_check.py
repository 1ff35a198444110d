"""bin/backup-restore-check (this script): prove that a backup restores (README "Backups").

Backs up --database-url and --media-dir with bin/backup, restores into --restore-url (dropped first: it
must be a scratch database) and a fresh media directory with bin/restore, then:
- `manage.py verify_books` on the source and on the restored copy: both must pass;
- each key table's row count and checksum (md5 of every row in primary-key order) equal in both;
- the media files equal (same paths, same sha256), and every attachment row's file present.
With --seed, the source is first created afresh (dropped, migrated, `seed_demo`, one photo per open case).
Prints the backup's size and time and the restore's time; exit 1 on any difference.
Usage: bin/backup-restore-check --database-url URL --media-dir DIR --restore-url URL [--seed]
"""

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable if ".venv" in sys.executable else str(BASE_DIR / ".venv" / "bin" / "python")
KEY_TABLES = [
    "accounts_user",
    "orders_order",
    "orders_orderline",
    "cases_case",
    "cases_caseevent",
    "cases_attachment",
    "finance_refund",
    "finance_refundevent",
    "finance_refundapproval",
    "finance_balanceentry",
    "finance_pointsentry",
    "finance_coupon",
    "returns_returnrequest",
    "django_migrations",
]


def psql(url: str, sql: str) -> str:
    return subprocess.run(["psql", url, "-tAc", sql], check=True, capture_output=True, text=True).stdout.strip()


def server(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    return parsed._replace(path="/postgres").geturl(), parsed.path.lstrip("/")


def manage(url: str, media_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "PRIVATE_MEDIA_ROOT": str(media_dir)}
    env.setdefault("SECRET_KEY", "backup-check-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, check=check, capture_output=True, text=True
    )


def seed(url: str, media_dir: Path) -> None:
    admin, name = server(url)
    psql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(admin, f'CREATE DATABASE "{name}"')
    manage(url, media_dir, "migrate", "--noinput", "-v0")
    manage(url, media_dir, "seed_demo")
    # seed_demo adds no files: a photo on each open case, through the upload service, so media is not empty.
    script = (
        "import io; from PIL import Image; from django.core.files.uploadedfile import SimpleUploadedFile;"
        "from aftersales.cases.attachments import add_attachment; from aftersales.cases.models import Case\n"
        "for n, case in enumerate(Case.objects.filter(closed_at__isnull=True).select_related('customer')[:20]):\n"
        "    out = io.BytesIO(); Image.new('RGB', (40, 30), (n * 10, 80, 120)).save(out, 'PNG')\n"
        "    add_attachment(case=case, uploaded_by=case.customer,"
        " upload=SimpleUploadedFile(f'photo{n}.png', out.getvalue(), 'image/png'))\n"
    )
    manage(url, media_dir, "shell", "-c", script)


def table_fingerprints(url: str) -> dict[str, str]:
    present = set(psql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").split())
    prints = {}
    for table in KEY_TABLES:
        if table in present:
            rows = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            prints[table] = psql(url, f"SELECT count(*) || ' rows, md5 ' || {rows} FROM {table} t")
    prints["(tables)"] = str(len(present))
    # What keeps the data right after the restore: the database's own guards, and sequences past every id.
    prints["(triggers)"] = psql(url, "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal")
    prints["(constraints, indexes)"] = psql(
        url,
        "SELECT (SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
        " WHERE n.nspname = 'public') || ', ' || (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public')",
    )
    prints["(sequences)"] = psql(
        url,
        "SELECT md5(string_agg(sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY sequencename)) "
        "FROM pg_sequences WHERE schemaname = 'public'",
    )
    return prints


def media_fingerprints(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def timed(command: list[str], env: dict | None = None) -> tuple[str, float]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{command[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip(), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="the source (PostgreSQL)")
    parser.add_argument("--media-dir", required=True, type=Path, help="the source's PRIVATE_MEDIA_ROOT")
    parser.add_argument("--restore-url", required=True, help="a scratch database: dropped and restored into!")
    parser.add_argument("--seed", action="store_true", help="create the source afresh first (dropped!)")
    args = parser.parse_args()
    if args.restore_url == args.database_url:
        sys.exit("--restore-url must not be the source")
    sys.stdout.reconfigure(line_buffering=True)
    if args.seed:
        print(f"seeding {server(args.database_url)[1]} and {args.media_dir}")
        seed(args.database_url, args.media_dir)

    work = Path(tempfile.mkdtemp(prefix="backup-check-"))
    env = {**os.environ, "DATABASE_URL": args.database_url, "PRIVATE_MEDIA_ROOT": str(args.media_dir)}
    said, backup_seconds = timed(["bin/backup", str(work / "backups")], env)
    print(said)
    backup = Path(re.search(r"backup: (\S+)", said).group(1))
    if not backup.is_absolute():
        backup = BASE_DIR / backup
    size = sum(p.stat().st_size for p in backup.iterdir())

    admin, name = server(args.restore_url)
    psql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    restored_media = work / "restored-media"
    said, restore_seconds = timed(["bin/restore", str(backup), args.restore_url, str(restored_media)])
    print(said)

    problems = []
    for label, url, media in (
        ("source", args.database_url, args.media_dir),
        ("restored", args.restore_url, restored_media),
    ):
        books = manage(url, media, "verify_books", check=False)
        print(f"verify_books on the {label} copy: exit {books.returncode}")
        if books.returncode:
            problems.append(f"verify_books fails on the {label} copy:\n{books.stdout}{books.stderr}")
    migrate = manage(args.restore_url, restored_media, "migrate", "--check", check=False)
    if migrate.returncode:
        problems.append(f"the restored copy has unapplied migrations:\n{migrate.stdout}")

    source, restored = table_fingerprints(args.database_url), table_fingerprints(args.restore_url)
    for table in source:
        same = source[table] == restored.get(table)
        print(f"  {table:<26} {source[table]:<52} {'same' if same else 'DIFFERENT: ' + str(restored.get(table))}")
        if not same:
            problems.append(f"{table}: {source[table]} in the source, {restored.get(table)} restored")
    source_media, restored_files = media_fingerprints(args.media_dir), media_fingerprints(restored_media)
    print(f"  media files: {len(source_media)} in the source, {len(restored_files)} restored")
    if source_media != restored_files:
        problems.append("the restored media files differ from the source's")
    paths = psql(args.restore_url, "SELECT file FROM cases_attachment").split()
    missing = [p for p in paths if not (restored_media / p).is_file()]
    if missing:
        problems.append(f"{len(missing)} attachment rows have no file in the restored media, e.g. {missing[:3]}")

    print(f"backup: {size / 1024 / 1024:.2f} MiB in {backup_seconds:.2f} s; restore: {restore_seconds:.2f} s")
    if problems:
        print("\nBACKUP/RESTORE CHECK FAILED:\n" + "\n".join(f"  {p}" for p in problems))
        sys.exit(1)
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    print("backup/restore check passed: books verified on the copy, key tables and media identical")


if __name__ == "__main__":
    main()
