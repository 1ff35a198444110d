import pytest
from django.core import mail  # noqa: F401

from tests import factories


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.LANGUAGE_CODE = "en"
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
