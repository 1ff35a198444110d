"""The sandbox payment provider as a real process, for tests that talk to a gateway over HTTP."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from aftersales.finance.gateways.sandbox import SECRET_HEADER, SandboxGateway

BASE_DIR = Path(__file__).resolve().parent.parent.parent
NO_FAULTS = {"delay_seconds": 0, "fail_next": 0, "timeout_next": 0, "hang_seconds": 30, "down": False}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sandbox:
    """`python -m aftersales.finance.sandbox` on a free port with its own database file."""

    def __init__(self, directory: Path):
        self.db = directory / "sandbox-gateway.sqlite3"
        self.log = directory / "sandbox-gateway.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "aftersales.finance.sandbox", "--port", str(self.port), "--db", str(self.db)]
        env = {**os.environ, "PAYMENT_GATEWAY_SECRET": settings.PAYMENT_GATEWAY_SECRET, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the sandbox exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/_health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"the sandbox did not answer /_health: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def control(self, method: str, path: str, **kwargs) -> dict:
        headers = {SECRET_HEADER: settings.PAYMENT_GATEWAY_SECRET}
        response = httpx.request(method, f"{self.url}{path}", headers=headers, timeout=5, **kwargs)
        response.raise_for_status()
        return response.json()

    def faults(self, **changes) -> dict:
        return self.control("POST", "/_faults", json=changes)

    def refunds_executed(self) -> int:
        return self.control("GET", "/_stats")["refunds_executed"]

    def wait_for_refunds_executed(self, count: int, seconds: float = 10) -> int:
        """The provider's count once it reaches `count`: a call we gave up on may still be executing."""
        deadline = time.monotonic() + seconds
        while (executed := self.refunds_executed()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return executed


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    """One sandbox process for the session; `gateway` clears its faults after each test."""
    process = Sandbox(tmp_path_factory.mktemp("sandbox"))
    process.start()
    yield process
    process.stop()


@pytest.fixture
def gateway(sandbox):
    """A client of the session's sandbox with a short timeout (2 s: short, yet long enough for a loaded CI machine)."""
    yield SandboxGateway(url=sandbox.url, timeout_seconds=2)
    sandbox.faults(**NO_FAULTS)


@pytest.fixture
def finance_staff(db):
    from tests import factories

    return factories.StaffFactory(role="finance")


@pytest.fixture
def live(settings, sandbox, gateway):
    """The configured gateway is the session's sandbox, with a timeout short enough for the timeout
    test and long enough for a busy CI machine."""
    settings.PAYMENT_GATEWAY_URL = sandbox.url
    settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 2
    return sandbox
