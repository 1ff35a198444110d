"""Settings come from the environment: production refuses to start without a secret, passes Django's
deploy checks when configured, and DATABASE_URL / CELERY_BROKER_URL move it to other servers.

Each case runs Django in a subprocess with a clean environment, so nothing leaks from the test
process (which is already configured) or from the developer's shell."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "ENGINE": db["ENGINE"], "NAME": str(db["NAME"]), "HOST": db.get("HOST", ""), "PORT": str(db.get("PORT", "")),
    "USER": db.get("USER", ""), "OPTIONS": db.get("OPTIONS", {}),
    "TEST": {k: str(v) for k, v in db.get("TEST", {}).items()},
    "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "VAR_DIR": str(settings.VAR_DIR), "DEBUG": settings.DEBUG,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT, "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
}))
"""


def run_django(args: list[str], env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "aftersales.settings",
        "VAR_DIR": str(tmp_path / "var"),
        "ENV_FILE": str(tmp_path / "no.env"),  # not the checkout's .env
        "PYTHONDONTWRITEBYTECODE": "1",
        **env,
    }
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def settings_under(env: dict[str, str], tmp_path) -> dict:
    result = run_django(["-c", PRINT_SETTINGS], env, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def production_env() -> dict[str, str]:
    return {"SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "shop.example.com"}


def test_without_debug_and_without_a_secret_key_the_settings_refuse_to_load(tmp_path):
    result = run_django(["-c", "import django; django.setup()"], {}, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_runs_without_a_secret_key_and_without_https(tmp_path):
    values = settings_under({"DEBUG": "1"}, tmp_path)
    assert values["DEBUG"] is True
    assert values["SECURE_SSL_REDIRECT"] is False and values["SESSION_COOKIE_SECURE"] is False


def test_production_settings_pass_the_deploy_security_checks(tmp_path):
    env = production_env()
    assert len(env["SECRET_KEY"]) >= 50
    # Every security check, deploy ones included, at warning level: nothing may be reported.
    security = run_django(
        ["manage.py", "check", "--deploy", "--tag", "security", "--fail-level", "WARNING"], env, tmp_path
    )
    assert security.returncode == 0, security.stdout + security.stderr
    assert "System check identified no issues" in security.stdout
    # The full deploy check (app checks too, e.g. a business-calendar year not loaded yet, which is
    # data, not configuration) has no errors and no security finding.
    full = run_django(["manage.py", "check", "--deploy"], env, tmp_path)
    assert full.returncode == 0, full.stdout + full.stderr
    assert "(security." not in full.stdout + full.stderr


def test_production_turns_on_https_cookies_and_redirect(tmp_path):
    values = settings_under(production_env(), tmp_path)
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True and values["SESSION_COOKIE_SECURE"] is True


def test_the_embedded_defaults_are_sqlite_and_a_sqlite_broker_under_var(tmp_path):
    values = settings_under({"DEBUG": "1"}, tmp_path)
    var = str(tmp_path / "var")
    assert values["VAR_DIR"] == var
    assert values["ENGINE"] == "django.db.backends.sqlite3"
    assert values["NAME"] == f"{var}/aftersales.sqlite3"
    assert values["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    # A file (one per test process), so a real worker process started by a test sees the test database.
    assert re.fullmatch(rf"{re.escape(var)}/test-aftersales(-\d+)?\.sqlite3", values["TEST"]["NAME"])
    assert values["CELERY_BROKER_URL"] == f"sqla+sqlite:///{var}/celery-broker.sqlite3"


def test_database_url_switches_to_postgresql(tmp_path):
    values = settings_under(
        {"DEBUG": "1", "DATABASE_URL": "postgres://shop:s3cret@db.internal:6543/aftersales_prod"}, tmp_path
    )
    assert values["ENGINE"] == "django.db.backends.postgresql"
    assert (values["NAME"], values["HOST"], values["PORT"], values["USER"]) == (
        "aftersales_prod",
        "db.internal",
        "6543",
        "shop",
    )
    assert "transaction_mode" not in values["OPTIONS"]


def test_celery_broker_url_switches_to_redis(tmp_path):
    values = settings_under({"DEBUG": "1", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/3"}, tmp_path)
    assert values["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/3"


def test_migrations_match_the_models_wherever_the_files_live(tmp_path):
    """A migration that baked in this machine's paths (an attachment directory) would show as a change
    on any other machine; every model change must come with its migration."""
    env = {"DEBUG": "1", "PRIVATE_MEDIA_ROOT": str(tmp_path / "elsewhere")}
    result = run_django(["manage.py", "makemigrations", "--check", "--dry-run"], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
