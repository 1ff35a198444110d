import pytest
from django.core.cache import cache


@pytest.fixture
def limits(settings):
    """The rate limits on (tests/conftest.py turns them off for the rest), counted from zero."""
    settings.RATELIMIT_ENABLED = True
    cache.clear()
    yield settings
    cache.clear()


@pytest.fixture
def two_factor(settings):
    settings.STAFF_TWO_FACTOR = True
    return settings
