"""The support mailbox intake (R-SUP-1, R-SUP-4): unread mail becomes tickets and customer replies.

Each unread message, oldest first, by UID:

- already filed (its Message-ID is a `MailMessage`): only marked read;
- automatic (auto-reply, bounce, bulk) or our own mail coming back: marked read, nothing else;
- it answers a ticket's mail (In-Reply-To, then References from the newest; never the subject) and
  comes from that ticket's customer: a reply on the ticket, or a new ticket linked to it when the
  ticket is closed; from anybody else: a new ticket for the sender (nobody writes into another
  person's ticket);
- otherwise a new ticket (category "other", channel e-mail) for the customer with the sender's
  address, a customer account being created for an unknown sender (no usable password: they set
  one through password reset). A new ticket's acknowledgement goes out as ticket mail, so an answer
  to it threads back.

One transaction per message; the message is marked read only after it committed. A message that
fails stays unread and is tried at the next fetch; after SUPPORT_MAIL_MAX_FAILURES failures it is
flagged in the mailbox (unread and flagged: for a person; unflag it to have it tried again)."""

import imaplib
import logging
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from aftersales.accounts import roles
from aftersales.accounts import services as accounts
from aftersales.cases import services as case_services
from aftersales.cases.models import CaseEvent
from aftersales.common.errors import InvalidTransition, ValidationFailed

from ..models import Category, Channel, MailIntakeFailure, MailMessage
from ..services import tickets
from ..workflow import CLOSED
from . import outgoing, parsing
from .imap import Mailbox, MailboxError, parse_url

logger = logging.getLogger(__name__)

MAX_PER_RUN = 200
OPENED, REPLIED, DUPLICATE, IGNORED, FAILED, FLAGGED = "opened", "replied", "duplicate", "ignored", "failed", "flagged"


@dataclass
class IntakeResult:
    counts: Counter = field(default_factory=Counter)
    error: str = ""  # the mailbox could not be reached or read (the run stopped there)

    def __str__(self):
        names = (OPENED, REPLIED, DUPLICATE, IGNORED, FAILED, FLAGGED)
        return ", ".join(f"{name} {self.counts[name]}" for name in names)


def fetch_mailbox(*, url: str | None = None, limit: int = MAX_PER_RUN) -> IntakeResult:
    """Read the support mailbox once (SUPPORT_IMAP_URL unless `url`; empty: intake off)."""
    url = settings.SUPPORT_IMAP_URL if url is None else url
    result = IntakeResult()
    if not url:
        return result
    try:
        with Mailbox(parse_url(url)) as mailbox:
            for uid in mailbox.unread_uids()[:limit]:
                _one(mailbox, uid, result)
    except (MailboxError, OSError, imaplib.IMAP4.error) as exc:
        result.error = str(exc)
        logger.warning("Support mailbox: %s", exc)
    return result


def _one(mailbox: Mailbox, uid: bytes, result: IntakeResult) -> None:
    raw = mailbox.read(uid)
    if raw is None:
        return
    message_id = parsing.message_id_of(raw)
    try:
        outcome = file_message(raw)
    except Exception as exc:  # one bad mail never stops the others
        logger.exception("Support mailbox: cannot file %s (UID %s)", message_id, uid.decode())
        if _count_failure(message_id, exc) >= settings.SUPPORT_MAIL_MAX_FAILURES:
            mailbox.flag(uid)
            logger.error("Support mailbox: gave up on %s (UID %s); flagged for a person", message_id, uid.decode())
            result.counts[FLAGGED] += 1
        else:
            result.counts[FAILED] += 1
        return
    mailbox.mark_seen(uid)  # after commit: a crash before this only means it is found filed next time
    MailIntakeFailure.objects.filter(message_id=message_id).delete()
    result.counts[outcome] += 1


def _count_failure(message_id: str, exc: Exception) -> int:
    now = timezone.now()
    try:
        with transaction.atomic():
            row, _created = MailIntakeFailure.objects.select_for_update().get_or_create(
                message_id=message_id, defaults={"first_failed_at": now, "last_failed_at": now}
            )
            row.failures += 1
            row.last_failed_at, row.error = now, f"{type(exc).__name__}: {exc}"[:2000]
            row.save()
            return row.failures
    except Exception:  # the database itself is failing: leave the mail for the next fetch
        logger.exception("Support mailbox: cannot count the failure of %s", message_id)
        return 0


def file_message(raw: bytes) -> str:
    """File one raw e-mail; returns what became of it (OPENED, REPLIED, DUPLICATE, IGNORED)."""
    mail = parsing.parse(raw)
    if MailMessage.objects.filter(message_id=mail.message_id).exists():
        return DUPLICATE
    reason = parsing.automatic_reason(mail, outgoing.own_addresses())
    if reason:
        logger.info("Support mailbox: ignored %s from %r: %s", mail.message_id, mail.sender, reason)
        return IGNORED
    try:
        with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
            return _file(mail)
    except IntegrityError:
        if MailMessage.objects.filter(message_id=mail.message_id).exists():
            return DUPLICATE  # another fetch filed it meanwhile
        raise


def _file(mail: parsing.ParsedMail) -> str:
    case = _threaded_case(mail)
    if case is not None and case.customer.email.lower() == mail.sender:
        if case.status != CLOSED:
            try:
                with transaction.atomic():
                    event, skipped = _with_photos(
                        mail,
                        lambda photos: tickets.customer_reply(
                            case=case, customer=case.customer, body=_body(mail), photos=photos
                        ),
                    )
                    _record(mail, case, event, skipped)
                    return REPLIED
            except InvalidTransition:  # closed meanwhile
                pass
        _open(mail, customer=case.customer, related_case=case)
        return OPENED
    _open(mail, customer=_customer_for(mail), related_case=None)
    return OPENED


def _threaded_case(mail: parsing.ParsedMail):
    ids = mail.thread_ids()
    if not ids:
        return None
    known = {m.message_id: m.case for m in MailMessage.objects.filter(message_id__in=ids).select_related("case")}
    return next((known[i] for i in ids if i in known), None)


def _customer_for(mail: parsing.ParsedMail):
    User = get_user_model()
    user = User.objects.filter(email__iexact=mail.sender).first()
    if user is not None:
        return user
    try:
        with transaction.atomic():
            return accounts.user_create(
                email=mail.sender, password=None, role=roles.CUSTOMER, full_name=mail.sender_name
            )
    except IntegrityError:  # created by a concurrent fetch
        return User.objects.get(email__iexact=mail.sender)


def _open(mail: parsing.ParsedMail, *, customer, related_case) -> None:
    subject = parsing.clean_subject(mail.subject) or _("(no subject)")
    if len(subject) > tickets.SUBJECT_MAX:
        subject = subject[: tickets.SUBJECT_MAX - 1] + "…"
    case, skipped = _with_photos(
        mail,
        lambda photos: tickets.open_ticket(
            customer=customer,
            subject=subject,
            body=_body(mail),
            category=Category.OTHER,
            actor=None,
            channel=Channel.EMAIL,
            related_case=related_case,
            photos=photos,
        ),
    )
    opened = case.events.filter(type=CaseEvent.Type.OPENED).order_by("at", "pk").first()
    _record(mail, case, opened, skipped)  # before commit: the acknowledgement's mail answers this one


def _body(mail: parsing.ParsedMail) -> str:
    body = mail.body or _("(The e-mail had no text.)")
    return body if len(body) <= tickets.BODY_MAX else body[: tickets.BODY_MAX - 1] + "…"


def _uploads(mail: parsing.ParsedMail) -> tuple[list[SimpleUploadedFile], list[dict]]:
    uploads, skipped = [], []
    for item in mail.others:
        skipped.append({"file": item.filename, "reason": _("Not a photo.")})
    for index, item in enumerate(mail.photos):
        name = item.filename or f"photo-{index + 1}"
        if index >= settings.ATTACHMENT_MAX_PER_CASE:
            skipped.append({"file": name, "reason": _("Too many attachments.")})
        elif len(item.data) > settings.ATTACHMENT_MAX_BYTES:
            reason = _("File too large (%(size)s).") % {"size": filesizeformat(len(item.data))}
            skipped.append({"file": name, "reason": reason})
        else:
            uploads.append(SimpleUploadedFile(name, item.data, content_type=item.content_type))
    return uploads, skipped


def _with_photos(mail: parsing.ParsedMail, action):
    """Run `action(photos=…)` with the mail's photos; a photo the case refuses (not really an image,
    too large, too many) is dropped and the action run again without it, never failing the mail."""
    uploads, skipped = _uploads(mail)
    while True:
        for upload in uploads:
            upload.seek(0)
        try:
            with transaction.atomic():
                return action(list(uploads)), skipped
        except ValidationFailed as exc:
            refused = sorted(int(k.split(".", 1)[1]) for k in exc.fields if k.startswith("photos."))
            if not refused or refused[0] >= len(uploads):
                raise
            upload = uploads.pop(refused[0])
            reason = " ".join(str(m) for m in exc.fields[f"photos.{refused[0]}"])
            skipped.append({"file": upload.name, "reason": reason})


def _record(mail: parsing.ParsedMail, case, event, skipped: list[dict]) -> None:
    # At the moment of its timeline entry: before the acknowledgement the new ticket already queued,
    # which answers it (In-Reply-To).
    at = event.at if event is not None else timezone.now()
    MailMessage.objects.create(
        message_id=mail.message_id, case=case, direction=MailMessage.Direction.IN, event=event, at=at
    )
    if skipped:
        listing = "; ".join(f"{s['file'] or _('(unnamed)')}: {s['reason']}" for s in skipped)
        case_services.add_note(
            case=case,
            actor=None,
            note=_("Attachments of the customer's e-mail that were not kept: %(list)s") % {"list": listing},
            public=False,
            data={"mail_attachments_skipped": skipped},
        )
