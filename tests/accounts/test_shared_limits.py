"""With CACHE_URL on Redis (production), a rate limit is one counter for every process: attempts made
by another process count here. Uses CACHE_URL when it is a Redis URL, else a private redis-server of its
own (started and stopped by the test, never the shared one)."""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory

from aftersales.accounts import security
from aftersales.common.errors import RateLimited

BASE_DIR = Path(django_settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    configured = os.environ.get("CACHE_URL", "")
    if configured.startswith("redis://"):
        yield configured
        return
    port = _free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


OTHER_PROCESS = """
import django, sys
django.setup()
from django.test import RequestFactory
from aftersales.accounts import security
request = RequestFactory().post("/accounts/login/")
for _ in range(int(sys.argv[2])):
    security.limit(request, "login", sys.argv[1])
print("counted")
"""


def test_a_limit_on_redis_is_shared_by_every_process(settings, redis_url):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    settings.RATELIMIT_ENABLED = True
    settings.RATELIMIT_LOGIN = "3/d"
    key = f"ip:shared-{uuid.uuid4()}"  # its own counter, whatever else this Redis database holds
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aftersales.settings",
        "CACHE_URL": redis_url,
        "RATELIMIT_ENABLED": "1",
        "RATELIMIT_LOGIN": "3/d",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "x" * 50),
        "LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, key, "2"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "counted" in done.stdout, done.stderr
    request = RequestFactory().post("/accounts/login/")
    security.limit(request, "login", key)  # the third attempt, here
    with pytest.raises(RateLimited) as refused:
        security.limit(request, "login", key)  # the fourth: over, though this process made only two
    assert refused.value.retry_after > 0
    # And the other process sees this one's attempts: it is refused at once.
    again = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, key, "1"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode != 0 and "RateLimited" in again.stderr
