"""Real mail servers on loopback for the support-mail tests: an IMAP server (pymap's in-memory "dict"
backend, run as its own process) holding the support mailbox, and an SMTP server (aiosmtpd, in a
thread) that captures what the shop sends. Each starts on a free port and stops after the session."""

import contextlib
import imaplib
import socket
import subprocess
import sys
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

SUPPORT_USER, SUPPORT_PASSWORD = "support@shop.test", "mailbox-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process=None, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the mail server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


class ImapServer:
    def __init__(self, port: int):
        self.port = port
        self.url = f"imap://{SUPPORT_USER.replace('@', '%40')}:{SUPPORT_PASSWORD}@127.0.0.1:{port}/INBOX"

    @contextlib.contextmanager
    def session(self):
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            conn.login(SUPPORT_USER, SUPPORT_PASSWORD)
            conn.select("INBOX")
            yield conn
        finally:
            conn.logout()

    def deliver(self, message) -> None:
        """Put a message in the support mailbox, unread (as a delivery agent would)."""
        raw = message if isinstance(message, bytes) else message.as_bytes()
        with self.session() as conn:
            typ, data = conn.append("INBOX", None, None, raw)
            assert typ == "OK", data

    def flags(self) -> dict[str, set[str]]:
        """Message-ID → flags of every message in the mailbox."""
        out = {}
        with self.session() as conn:
            _typ, data = conn.uid("SEARCH", None, "ALL")
            for uid in (data[0] or b"").split():
                _typ, parts = conn.uid("FETCH", uid, "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                head = next(p for p in parts if isinstance(p, tuple))
                message_id = str(BytesParser(policy=policy.default).parsebytes(head[1])["Message-ID"]).strip()
                flags = head[0].decode().split("FLAGS (", 1)[1].split(")", 1)[0]
                out[message_id] = set(flags.split())
        return out

    def mark_all_unread(self) -> None:
        with self.session() as conn:
            conn.uid("STORE", "1:*", "-FLAGS", "(\\Seen)")

    def clear(self) -> None:
        with self.session() as conn:
            _typ, data = conn.uid("SEARCH", None, "ALL")
            if (data[0] or b"").split():
                conn.uid("STORE", "1:*", "+FLAGS.SILENT", "(\\Deleted)")
                conn.expunge()


@pytest.fixture(scope="session")
def imap_server():
    port = free_port()
    pymap = Path(sys.executable).with_name("pymap")
    command = [str(pymap), "--host", "127.0.0.1", "--port", str(port), "--no-tls", "dict"]
    command += ["--demo-user", SUPPORT_USER, "--demo-password", SUPPORT_PASSWORD]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, process)
        yield ImapServer(port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Captured:
    """What the SMTP server received, parsed."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for rcpts, m in self.messages if address in rcpts]


@pytest.fixture(scope="session")
def smtp_server():
    from aiosmtpd.controller import Controller

    handler = Captured()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


@pytest.fixture
def mailbox(imap_server):
    imap_server.clear()
    yield imap_server
    imap_server.clear()


@pytest.fixture
def smtp(smtp_server, settings):
    """Django sends through the real SMTP server; returns its capture (emptied for the test)."""
    controller, handler = smtp_server
    handler.messages.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    return handler
