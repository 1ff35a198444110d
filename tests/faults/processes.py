"""Real processes for the fault tests, each private to the test that starts it: a Redis server, a
PostgreSQL cluster and a gunicorn app server, on free ports under the test's tmp directory. The shared
Redis and PostgreSQL (6379, 5432) are never touched: a fault test stops only what it started."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.finance.conftest import free_port

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
TEST_SECRET_KEY = "test-only-fault-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"


def wait_until(condition, what: str, seconds: float = 30, interval: float = 0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


class Redis:
    """`redis-server` on a free port, no persistence: stop() is the broker going away, start() its return
    (empty, as a Redis restarted without its data would be)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is not installed")
        command = [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(command, cwd=self.directory, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._answers, "redis-server to answer", seconds=10)

    def _answers(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.ConnectionError:
            assert self.process.poll() is None, (self.directory / "redis.log").read_text()
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused one could not act on SIGTERM
            self.process.terminate()
            self.process.wait(timeout=10)

    def pause(self) -> None:
        """A Redis that hangs: connections are still accepted (by the kernel), nothing is answered."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


class PostgreSQL:
    """A throwaway cluster, started and stopped with pg_ctl, trust auth on 127.0.0.1 only. Its directory
    is made under the system's temp directory, not the test's: pytest's are private to root, and
    initdb refuses root, so when we are root the cluster runs as the postgres user."""

    def __init__(self):
        self.directory = Path(tempfile.mkdtemp(prefix="aftersales-faults-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    @classmethod
    def unavailable(cls) -> str:
        """Why a cluster cannot be made here ("" when it can)."""
        if not (PG_BIN / "initdb").exists():
            return f"no PostgreSQL binaries in {PG_BIN} (set PG_BIN)"
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return "running as root without runuser: initdb refuses root"
        return ""

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        if self.as_postgres:
            command = ("runuser", "-u", "postgres", "--", *command)
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 or not check, f"{command} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def init(self) -> None:
        if self.as_postgres:
            shutil.chown(self.directory, user="postgres")
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-o", options, "-l", self.directory / "log", "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def createdb(self, name: str) -> None:
        self._run(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def remove(self) -> None:
        """Stop it (if running) and delete its files."""
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


def app_env(**settings) -> dict:
    """The environment of a process running the app as production does (DEBUG off), plain HTTP."""
    return {
        **os.environ,
        "SECRET_KEY": TEST_SECRET_KEY,
        "HTTPS": "0",
        "DEBUG": "0",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PYTHONUNBUFFERED": "1",
        # A few customers submit hundreds of cases here, far past the per-customer limits (tests/accounts).
        "RATELIMIT_ENABLED": "0",
        **settings,
    }


def manage(env: dict, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    command = [sys.executable, "manage.py", *args]
    result = subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


class Gunicorn:
    """The web process as docker-compose runs it (`gunicorn aftersales.wsgi:application`), on a free port."""

    def __init__(self, directory: Path, env: dict, workers: int = 2, threads: int = 1):
        self.log = directory / "gunicorn.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.workers, self.threads = workers, threads
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "aftersales.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--timeout",
            "60",
            "--access-logfile",
            "-",
        ]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, cwd=BASE_DIR, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(self._answers, "gunicorn to answer", seconds=60, interval=0.2)

    def _answers(self) -> bool:
        assert self.process.poll() is None, f"gunicorn exited:\n{self.log.read_text(errors='replace')[-4000:]}"
        try:
            httpx.get(f"{self.url}/healthz", timeout=2)
            return True
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")
