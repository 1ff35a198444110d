"""docker-compose.yml and the Dockerfile point at real code and real settings.

There is no Docker engine on the build machines, so these checks read the files instead: the five
services exist, each command runs something that exists here (the WSGI application, the Celery app
and its subcommands, management commands), every variable given to our containers is one that
settings.py reads, and what the Dockerfile copies and runs exists."""

import ast
import importlib
import re
import shlex
from pathlib import Path

import pytest
import yaml


class UniqueKeyLoader(yaml.SafeLoader):
    """Docker Compose refuses a mapping that names a key twice; PyYAML would keep the last one."""

    def construct_mapping(self, node, deep=False):
        # The keys written in this mapping (a `<<` merge may legitimately be overridden).
        keys = [key.value for key, _value in node.value if key.tag != "tag:yaml.org,2002:merge"]
        duplicates = {key for key in keys if keys.count(key) > 1}
        if duplicates:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate keys {sorted(duplicates)}", node.start_mark)
        return super().construct_mapping(node, deep=deep)


BASE_DIR = Path(__file__).resolve().parent.parent
# Loading it at all proves no mapping repeats a key.
COMPOSE = yaml.load((BASE_DIR / "docker-compose.yml").read_text(), Loader=UniqueKeyLoader)
SERVICES = COMPOSE["services"]
ENV_READERS = {"str", "bool", "int", "float", "list", "dict", "json", "url", "path", "email_url", "db_url", "cache_url"}


def settings_env_names() -> set[str]:
    """Every NAME in `env.<reader>("NAME", ...)` / `environ.Env().<reader>("NAME", ...)` in settings.py."""
    tree = ast.parse((BASE_DIR / "aftersales" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ENV_READERS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def command_of(service: dict) -> list[str]:
    command = service.get("command")
    if command is None:  # the image's CMD
        cmd = re.search(r"^CMD\s+(\[.*\])\s*$", (BASE_DIR / "Dockerfile").read_text(), re.MULTILINE)
        return ast.literal_eval(cmd.group(1))
    return shlex.split(command) if isinstance(command, str) else list(command)


def app_services() -> dict[str, dict]:
    """The services that run our image (built from the Dockerfile)."""
    return {name: s for name, s in SERVICES.items() if "build" in s}


def test_the_five_services_exist():
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(SERVICES)
    assert {"web", "worker", "beat"} <= set(app_services())
    assert SERVICES["postgres"]["image"].startswith("postgres:15")
    assert SERVICES["redis"]["image"].startswith("redis:7")
    for name in ("postgres", "redis"):
        assert "healthcheck" in SERVICES[name], name


def test_settings_env_names_are_found():
    names = settings_env_names()
    assert {"SECRET_KEY", "DEBUG", "DATABASE_URL", "CELERY_BROKER_URL", "ALLOWED_HOSTS", "VAR_DIR"} <= names


@pytest.mark.parametrize("name", sorted(app_services()))
def test_every_variable_given_to_our_containers_is_read_by_settings(name):
    environment = app_services()[name].get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
    unknown = set(environment) - settings_env_names()
    assert not unknown, f"{name}: settings.py reads no {sorted(unknown)}"
    assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"} <= set(environment)
    assert environment["DATABASE_URL"].startswith("postgres://") and "@postgres:" in environment["DATABASE_URL"]
    assert environment["CELERY_BROKER_URL"].startswith("redis://redis:")


@pytest.mark.parametrize("name", sorted(app_services()))
def test_every_command_runs_real_code(name, db):
    argv = command_of(app_services()[name])
    program = argv[0]
    if program == "gunicorn":
        module_name, _, attribute = next(a for a in argv[1:] if not a.startswith("-") and ":" in a).partition(":")
        assert module_name == "aftersales.wsgi"
        assert callable(getattr(importlib.import_module(module_name), attribute))
        assert "0.0.0.0:8000" in argv
    elif program == "celery":
        from celery.bin.celery import celery as celery_cli

        app_name = argv[argv.index("-A") + 1]
        module = importlib.import_module(app_name)
        app = getattr(module, "celery_app", None) or importlib.import_module(f"{app_name}.celery").app
        assert app.main == "aftersales"
        subcommand = next(a for a in argv[argv.index("-A") + 2 :] if not a.startswith("-"))
        assert subcommand in {"worker", "beat"} and subcommand in celery_cli.commands
        options = {o for p in celery_cli.commands[subcommand].params for o in p.opts}
        for arg in argv[argv.index(subcommand) + 1 :]:
            if arg.startswith("-"):
                assert arg.split("=", 1)[0] in options, f"celery {subcommand} has no option {arg}"
        if subcommand == "worker":
            app.loader.import_default_modules()  # what a worker does at start: autodiscover tasks
            assert "aftersales.cases.tasks.sweep_deadlines" in app.tasks
    elif argv[:2] == ["python", "manage.py"]:
        from django.core.management import get_commands

        assert argv[2] in get_commands(), f"no management command {argv[2]}"
    else:
        pytest.fail(f"{name}: unexpected command {argv}")


def test_the_database_is_migrated_before_web_worker_and_beat_start():
    assert command_of(SERVICES["migrate"])[:3] == ["python", "manage.py", "migrate"]
    for name in ("web", "worker", "beat"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_beat_keeps_its_schedule_in_a_volume():
    beat = SERVICES["beat"]
    schedule = Path(beat["environment"]["CELERY_BEAT_SCHEDULE_FILENAME"])
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in beat["volumes"]}
    assert str(schedule.parent) in mounts
    assert mounts[str(schedule.parent)] in COMPOSE["volumes"]


def test_the_dockerfile_uses_files_that_exist():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.MULTILINE)
    assert "pip install -r requirements.txt" in dockerfile
    assert re.search(r"^USER (?!root)\S+", dockerfile, re.MULTILINE), "the image must not run as root"
    assert "collectstatic" in dockerfile and "SECRET_KEY=" in dockerfile
    for line in re.findall(r"^(?:COPY|ADD)\s+(.+)$", dockerfile, re.MULTILINE):
        *sources, _destination = line.split()
        for source in sources:
            if not source.startswith("--"):
                assert (BASE_DIR / source).exists(), f"Dockerfile copies a missing {source}"
    for referenced in ("requirements.txt", "manage.py"):
        assert referenced in dockerfile and (BASE_DIR / referenced).is_file()
    ignored = (BASE_DIR / ".dockerignore").read_text().split()
    assert "manage.py" not in ignored and "requirements.txt" not in ignored


def test_every_setting_is_documented_in_the_readme():
    """README's Settings table names every variable settings.py reads."""
    readme = (BASE_DIR / "README.md").read_text()
    undocumented = sorted(name for name in settings_env_names() if f"`{name}`" not in readme)
    assert not undocumented, f"add these to README's Settings table: {undocumented}"
