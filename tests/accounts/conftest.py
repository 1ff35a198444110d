import uuid

import pytest


@pytest.fixture
def limits(settings):
    """The rate limits on (tests/conftest.py turns them off for the rest), counted from zero: counters
    of this test's own (a fresh key prefix), so nothing is cleared in a cache other runs may share."""
    settings.RATELIMIT_ENABLED = True
    settings.RATELIMIT_CACHE_PREFIX = f"rl:{uuid.uuid4().hex}:"
    return settings


@pytest.fixture
def two_factor(settings):
    settings.STAFF_TWO_FACTOR = True
    return settings
