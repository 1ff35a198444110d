"""The support mailbox over IMAP (imaplib): connect from SUPPORT_IMAP_URL, list unread mail by UID,
read one without marking it, and flag it.

URL: imap://user:password@host[:143]/MAILBOX (plain; for loopback or a trusted network),
imaps://…[:993]/MAILBOX (TLS) or imap+starttls://…[:143]/MAILBOX. User and password are
percent-encoded (user%40example.com). The mailbox defaults to INBOX."""

import contextlib
import imaplib
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

TIMEOUT_SECONDS = 30
PORTS = {"imap": 143, "imaps": 993, "imap+starttls": 143}


class MailboxError(Exception):
    """The mailbox cannot be reached or read (the whole run stops; nothing was marked)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    user: str
    password: str
    mailbox: str

    def __str__(self):  # for logs: never the password
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}/{self.mailbox}"


def parse_url(url: str) -> Target:
    parts = urlsplit(url)
    if parts.scheme not in PORTS or not parts.hostname:
        raise MailboxError(f"SUPPORT_IMAP_URL must be imap://, imaps:// or imap+starttls:// with a host, not {url!r}")
    return Target(
        scheme=parts.scheme,
        host=parts.hostname,
        port=parts.port or PORTS[parts.scheme],
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
    )


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Mailbox:
    """One session on the support mailbox. Use as a context manager."""

    def __init__(self, target: Target):
        self.target = target
        self.conn: imaplib.IMAP4 | None = None

    def __enter__(self) -> "Mailbox":
        t = self.target
        try:
            if t.scheme == "imaps":
                self.conn = imaplib.IMAP4_SSL(
                    t.host, t.port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT_SECONDS
                )
            else:
                self.conn = imaplib.IMAP4(t.host, t.port, timeout=TIMEOUT_SECONDS)
                if t.scheme == "imap+starttls":
                    self.conn.starttls(ssl.create_default_context())
            self.conn.login(t.user, t.password)
            typ, data = self.conn.select(_quoted(t.mailbox))
        except (OSError, imaplib.IMAP4.error) as exc:
            self.__exit__(None, None, None)
            raise MailboxError(f"{t}: {exc}") from exc
        if typ != "OK":
            self.__exit__(None, None, None)
            raise MailboxError(f"{t}: cannot select the mailbox: {data!r}")
        return self

    def __exit__(self, *exc_info) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                self.conn.logout()
            self.conn = None

    def _ok(self, typ, data, what: str):
        if typ != "OK":
            raise MailboxError(f"{self.target}: {what} failed: {data!r}")
        return data

    def unread_uids(self) -> list[bytes]:
        """Unread mail not flagged (flagged unread mail is mail the intake gave up on)."""
        data = self._ok(*self.conn.uid("SEARCH", None, "UNSEEN", "UNFLAGGED"), "SEARCH")
        return (data[0] or b"").split()

    def read(self, uid: bytes) -> bytes | None:
        """The whole message, without setting \\Seen (BODY.PEEK); None if it has gone."""
        data = self._ok(*self.conn.uid("FETCH", uid, "(BODY.PEEK[])"), "FETCH")
        return next((part[1] for part in data if isinstance(part, tuple) and len(part) > 1), None)

    def mark_seen(self, uid: bytes) -> None:
        self._ok(*self.conn.uid("STORE", uid, "+FLAGS", "(\\Seen)"), "STORE")

    def flag(self, uid: bytes) -> None:
        self._ok(*self.conn.uid("STORE", uid, "+FLAGS", "(\\Flagged)"), "STORE")
