"""Reading one e-mail with the standard library (`email`, policy.default): who sent it, what it
answers, its text without the quoted tail, its photos, and whether it is automatic mail we must not
answer. Pure functions: no database, no network."""

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

MESSAGE_ID_MAX = 255  # MailMessage.message_id
_ID = re.compile(r"<[^<>\s]+>")


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    message_id: str
    sender: str  # the From address, lower case; "" when there is none we can use
    sender_name: str
    subject: str
    body: str  # text only, quoted tail removed
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    photos: list[Attachment] = field(default_factory=list)
    others: list[Attachment] = field(default_factory=list)  # attachments that are not images
    message: EmailMessage | None = None

    def thread_ids(self, limit: int = 50) -> list[str]:
        """The Message-IDs this mail answers, most telling first: In-Reply-To, then References from
        the newest. Never the subject."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        ids += [i for i in reversed(self.references) if i not in ids]
        return ids[:limit]


def synthetic_id(raw: bytes) -> str:
    """A stable Message-ID for a mail that has none (or an unusable one): the same message fetched
    again gets the same id, so it is still filed once."""
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.invalid>"


def normalize_id(value) -> str:
    """`<local@domain>` from a header value, or "" when it holds none we can store."""
    value = str(value or "").strip()
    match = _ID.search(value)
    if match:
        value = match.group(0)
    elif value and not any(c.isspace() for c in value):
        value = f"<{value.strip('<>')}>"
    else:
        return ""
    return value if len(value) <= MESSAGE_ID_MAX else ""


def ids_in(value) -> list[str]:
    return [i for i in _ID.findall(str(value or "")) if len(i) <= MESSAGE_ID_MAX]


def message_id_of(raw: bytes) -> str:
    """The id a raw mail is known by (for bookkeeping even when the rest of it cannot be parsed)."""
    try:
        headers = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
        return normalize_id(headers.get("Message-ID")) or synthetic_id(raw)
    except Exception:  # a mail we cannot even read headers of still needs a name
        return synthetic_id(raw)


def parse(raw: bytes) -> ParsedMail:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    name, address = _sender(message)
    body_part = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if body_part is not None:
        text = _text_of(body_part)
        if body_part.get_content_subtype() == "html":
            text = html_to_text(text)
    photos, others = _attachments(message, body_part)
    return ParsedMail(
        message_id=normalize_id(message.get("Message-ID")) or synthetic_id(raw),
        sender=address,
        sender_name=name,
        subject=" ".join(str(message.get("Subject") or "").split()),
        body=strip_quoted(text),
        in_reply_to=next(iter(ids_in(message.get("In-Reply-To"))), ""),
        references=ids_in(message.get("References")),
        photos=photos,
        others=others,
        message=message,
    )


def _sender(message: EmailMessage) -> tuple[str, str]:
    try:
        pairs = getaddresses([str(v) for v in message.get_all("From", [])])
    except Exception:
        pairs = [parseaddr(str(message.get("From", "")))]
    name, address = pairs[0] if pairs else ("", "")
    address = address.strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        return "", ""
    return " ".join(name.split())[:150], address


_GB = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936"}


def _text_of(part) -> str:
    charset = (part.get_content_charset() or "").lower()
    if charset in _GB:  # mail labelled GB2312 often holds GBK/GB18030 characters; GB18030 reads them all
        return (part.get_payload(decode=True) or b"").decode("gb18030", errors="replace")
    try:
        return part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):  # unknown or lying charset
        payload = part.get_payload(decode=True) or b""
        try:
            return payload.decode(charset or "utf-8", errors="replace")
        except LookupError:
            return payload.decode("utf-8", errors="replace")


def _attachments(message: EmailMessage, body_part) -> tuple[list[Attachment], list[Attachment]]:
    photos, others = [], []
    for part in message.walk():
        if part is body_part or part.is_multipart():
            continue
        filename = part.get_filename() or ""
        if not (part.is_attachment() or filename):
            continue  # an alternative text, an unnamed inline image (signature logos)
        data = part.get_payload(decode=True) or b""
        item = Attachment(filename=filename, content_type=part.get_content_type(), data=data)
        (photos if part.get_content_maintype() == "image" else others).append(item)
    return photos, others


# --- Automatic mail ---------------------------------------------------------------------------

_BULK = {"bulk", "junk", "list"}
_DAEMONS = {"mailer-daemon", "postmaster"}


def automatic_reason(mail: ParsedMail, own_addresses: set[str]) -> str:
    """Why this mail must not become a ticket (an auto-reply, a bounce, our own mail coming back),
    or "" for a person's mail. Answering automatic mail is how mail loops start."""
    message = mail.message
    if not mail.sender:
        return "no usable From"
    if mail.sender in own_addresses:
        return "from our own address"
    if mail.sender.split("@", 1)[0] in _DAEMONS:
        return "bounce"
    if message is None:
        return ""
    auto = str(message.get("Auto-Submitted", "")).split(";", 1)[0].strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    if str(message.get("Precedence", "")).strip().lower() in _BULK:
        return "Precedence: bulk"
    if message.get("X-Autoreply") is not None or message.get("X-Autorespond") is not None:
        return "auto-reply"
    if message.get_content_type() == "multipart/report" or str(message.get("Return-Path", "")).strip() == "<>":
        return "bounce"
    return ""


# --- Text -------------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """HTML → plain text: the text nodes only (never markup, scripts or styles), with line breaks
    where blocks end. What comes out is shown as text, so nothing in it can run."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "hr"}
    SKIP = {"script", "style", "head", "title", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(data)


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_ON_WROTE = re.compile(r"^On\s.{1,300}\swrote:$", re.IGNORECASE)
_CN_WROTE = re.compile(r"^在.{1,300}写道[:：]$")
_ORIGINAL = re.compile(r"^-{2,}\s*(Original Message|原始邮件|原始郵件)\s*-{2,}$", re.IGNORECASE)


def strip_quoted(text: str) -> str:
    """The new text of a reply: everything before the first quote header ("On … wrote:", possibly
    wrapped over two lines, "-----Original Message-----", "在 … 写道：", "--- 原始邮件 ---") and
    without a trailing block of "> " lines. Conservative: when nothing would be left (a reply
    written inline, below the quote), the text is kept whole."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    for i, line in enumerate(lines):
        line = line.strip()
        two = f"{line} {lines[i + 1].strip()}" if i + 1 < len(lines) and line.startswith("On ") else line
        if _ORIGINAL.match(line) or _CN_WROTE.match(line) or _ON_WROTE.match(line) or _ON_WROTE.match(two):
            head = "\n".join(lines[:i])
            if head.strip():
                lines = lines[:i]
            break
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(">")):
        if not any(x.strip() and not x.lstrip().startswith(">") for x in lines[:-1]):
            break
        lines.pop()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in lines)).strip()


_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|回复|答复|转发)\s*[:：]\s*)+", re.IGNORECASE)


def clean_subject(subject: str) -> str:
    """A new ticket's subject: without the "Re:" / "Fwd:" / "回复：" chain."""
    return _REPLY_PREFIX.sub("", subject).strip()
