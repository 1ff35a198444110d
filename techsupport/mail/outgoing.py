"""Ticket mail that threads (R-SUP-4): what we send a customer about a ticket carries its own
Message-ID, answers the thread's latest message (In-Reply-To) and names the thread (References), so
the customer's mail program shows one conversation and their answer finds its ticket again.

How a reply leaves, and what each crash does:

1. In the agent's reply transaction (`thread_reply_on_commit`): the reply's portal notification is
   marked e-mailed (the core mailer skips it) and a `MailMessage(direction=out)` row records the
   Message-ID this e-mail will have. A crash before commit: no reply, no row, nothing sent.
2. After commit the `send_ticket_mail` task is queued. A crash between commit and queueing, or a
   broker that is down: the row waits unsent, and `send_unsent` (beat) sends it later.
3. The task renders the e-mail from the recorded row and sends it, under the row's lock, then marks
   it sent (`sent_at`): the task and the sweep never both send it. SMTP failing (OSError) retries the
   task; the row is read again, so every try sends the same mail with the same Message-ID. A crash
   after the server accepted it but before it was marked re-sends that same message (same
   Message-ID: mail programs show it once), never a second, different one.

Recording the Message-ID before sending is the choice: a mail with a Message-ID we did not keep
could be answered, and that answer would open a new ticket instead of landing on this one."""

from datetime import timedelta
from email.utils import make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from aftersales.cases.models import Notification
from aftersales.cases.notifications import UNSENT_MAX_AGE, one_line
from aftersales.common import queueing

from ..models import MailMessage

REFERENCES_MAX = 10  # the thread's first Message-ID and its latest ones (RFC 5322 §3.6.4)


def address_of(value: str) -> str:
    return parseaddr(value or "")[1].strip().lower()


def own_addresses() -> set[str]:
    """Our addresses: mail from them is ours coming back (the intake's loop guard)."""
    return {a for a in (address_of(settings.SUPPORT_EMAIL_ADDRESS), address_of(settings.DEFAULT_FROM_EMAIL)) if a}


def new_message_id() -> str:
    domain = address_of(settings.SUPPORT_EMAIL_ADDRESS).rpartition("@")[2] or None
    return make_msgid(domain=domain)


def thread_reply_on_commit(event, notification) -> MailMessage:
    """An agent's public reply (`event`) reaches the customer by e-mail in the ticket's thread. Call
    inside the reply's transaction: the notification is marked e-mailed there, so the core mailer
    does not send it a second time, without threading."""
    return thread_notification_on_commit(case=event.case, notification=notification, event=event)


def thread_notification_on_commit(*, case, notification, event=None, automatic: bool = False) -> MailMessage:
    """Any customer notification about a ticket sent as ticket mail (see the module docstring).
    `automatic`: an automatic answer (the acknowledgement of a mailed-in ticket), marked so
    (Auto-Submitted) that the customer's auto-responder does not answer it."""
    now = timezone.now()
    Notification.objects.filter(pk=notification.pk).update(emailed_at=now)
    message = MailMessage.objects.create(
        message_id=new_message_id(),
        case=case,
        direction=MailMessage.Direction.OUT,
        event=event,
        at=now,
        notification=notification,
        automatic=automatic,
    )
    transaction.on_commit(lambda: _enqueue(message.pk, notification.pk, automatic))
    return message


def _enqueue(message_pk: int, notification_pk: int, automatic: bool) -> None:
    from ..tasks import send_ticket_mail

    queueing.delay(send_ticket_mail, message_pk, notification_pk, automatic, swept_by="send_unsent_ticket_mail")


def thread_of(message: MailMessage) -> list[str]:
    """The Message-IDs of the ticket's mail before `message`, oldest first (in and out)."""
    earlier = (
        MailMessage.objects.filter(case_id=message.case_id)
        .filter(Q(at__lt=message.at) | Q(at=message.at, pk__lt=message.pk))
        .order_by("at", "pk")
        .values_list("message_id", flat=True)
    )
    return list(earlier)


def references(thread: list[str]) -> list[str]:
    if len(thread) <= REFERENCES_MAX:
        return thread
    return thread[:1] + thread[-(REFERENCES_MAX - 1) :]


def build(message: MailMessage, notification: Notification, *, automatic: bool = False) -> EmailMessage:
    """The e-mail for a recorded outgoing row, in the customer's language: the same every time it is
    built (a retry sends the same mail)."""
    case = message.case
    customer = case.customer
    thread = thread_of(message)
    headers = {"Message-ID": message.message_id}
    if thread:
        headers["In-Reply-To"] = thread[-1]
        headers["References"] = " ".join(references(thread))
    if automatic:
        headers["Auto-Submitted"] = "auto-replied"
    with translation.override(customer.preferred_language or settings.LANGUAGE_CODE):
        subject = _("Re: %(subject)s [%(number)s]") % {"subject": case.subject, "number": case.number}
        url = settings.PORTAL_URL + reverse("portal:case-detail", args=[case.number])
        text = notification.body or notification.title
        if message.event_id is None and notification.body:  # not a reply: the title says what it is
            text = f"{notification.title}\n\n{notification.body}"
        footer = _("Answer this e-mail, or see the ticket in your account: %(url)s") % {"url": url}
    return EmailMessage(
        subject=one_line(subject),
        body=f"{text}\n\n-- \n{footer}\n{settings.SHOP_NAME}\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[customer.email],
        reply_to=[settings.SUPPORT_EMAIL_ADDRESS],
        headers=headers,
    )


@transaction.atomic
def send_ticket_mail(*, message_pk: int, notification_pk: int, automatic: bool = False) -> bool:
    """Send the recorded e-mail (the task's body) and mark it sent. False when its rows are gone
    (ticket deleted) or it was sent already (or is being sent by another worker)."""
    message = (
        MailMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("case__customer")
        .filter(pk=message_pk, direction=MailMessage.Direction.OUT, sent_at__isnull=True)
        .first()
    )
    notification = Notification.objects.filter(pk=notification_pk).first()
    if message is None or notification is None:
        return False
    build(message, notification, automatic=automatic).send()
    MailMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now())
    return True


def send_unsent(*, now=None) -> int:
    """The ticket e-mails whose task never reached the broker (it was down) or was lost: sent now, each
    once. Younger than one sweep interval: left to their task; older than a day: no longer news."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.NOTIFICATION_EMAIL_SWEEP_INTERVAL_SECONDS)
    unsent = MailMessage.objects.filter(  # the partial index techsupport_mail_unsent
        direction=MailMessage.Direction.OUT,
        sent_at__isnull=True,
        notification__isnull=False,
        at__lte=now - grace,
        at__gte=now - UNSENT_MAX_AGE,
    ).order_by("pk")
    sent = 0
    for pk, notification_pk, automatic in unsent.values_list("pk", "notification_id", "automatic")[:5000]:
        sent += send_ticket_mail(message_pk=pk, notification_pk=notification_pk, automatic=automatic)
    return sent
