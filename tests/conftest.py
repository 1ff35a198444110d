import pytest
from django.core import mail  # noqa: F401

from aftersales.common import settings_rows
from tests import factories


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path, monkeypatch):
    # Each test's changes to the settings rows roll back with it, without a signal: start from the database,
    # and keep a row read for the whole test, so its query counts do not depend on how fast it runs.
    settings_rows.forget_all()
    monkeypatch.setattr(settings_rows, "FRESH_SECONDS", float("inf"))
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.LANGUAGE_CODE = "en"
    # Abuse protection (README "Accounts security") is off here and on in the tests that prove it
    # (tests/accounts: the `limits` and `two_factor` fixtures): hundreds of tests log staff in with
    # force_login (no TOTP code) and create many cases quickly from one address, which is what they are
    # about, not abuse. The lockout (django-axes) stays on: no test fails a login five times by accident.
    settings.RATELIMIT_ENABLED = False
    settings.STAFF_TWO_FACTOR = False
    # Production hashes a password with 1,000,000 PBKDF2 rounds (0.4 s here); most tests create users,
    # so that alone was most of the suite's time. Hashing strength is not what these tests prove.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # No collectstatic before tests: plain static storage instead of the hashed manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def customer(db):
    return factories.CustomerFactory()


@pytest.fixture
def other_customer(db):
    return factories.CustomerFactory()


@pytest.fixture
def agent(db):
    return factories.StaffFactory(role="agent")


@pytest.fixture
def supervisor(db):
    return factories.StaffFactory(role="supervisor")


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.postgres` tests need PostgreSQL's row locks: skipped, with the reason, elsewhere."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason=f"needs PostgreSQL (this run uses {connection.vendor}); set DATABASE_URL")
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.fixture
def plain_flow(monkeypatch):
    """A kind whose staff steps are plain moves, taken with the case page's buttons and the cases API
    (no app page of its own): the ticket kind's table, replaced for the test, so these generic tests
    do not change each time a feature app gives its kind a flow of its own."""
    from aftersales.cases import workflow
    from aftersales.cases.models import CaseKind

    def t(name, sources, target, allowed="cases.change_case"):
        return workflow.Transition(name, frozenset(sources), target, allowed=allowed)

    transitions = [
        t("accept", {"submitted"}, "accepted"),
        t("reject", {"submitted"}, "rejected"),
        t("cancel", {"submitted"}, "cancelled", allowed="customer"),
        t("receive", {"accepted"}, "received"),
        t("close", {"received"}, "closed"),
        t("archive", {"closed"}, "archived", allowed="system"),
    ]
    flow = workflow.Workflow(
        kind=CaseKind.TICKET,
        initial="submitted",
        statuses={
            s: s.capitalize()
            for s in ("submitted", "accepted", "rejected", "cancelled", "received", "closed", "archived")
        },
        final=frozenset({"rejected", "cancelled", "closed", "archived"}),
        transitions={x.name: x for x in transitions},
    )
    monkeypatch.setitem(workflow._registry, CaseKind.TICKET, flow)
    return flow
