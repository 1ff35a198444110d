"""Telling customers what happened: a portal notification row now, the e-mail after commit.

Texts are rendered in the recipient's language, so `title` and `body` are callables evaluated
under that language.

The row is the outbox: the task queued after commit sends its e-mail at once, and if queueing fails
(the broker is down) the request still succeeds and `send_unsent_emails`, run by beat, sends it
later. Each e-mail is claimed under a row lock, so the task and the sweeper never both send one."""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation

from aftersales.common import queueing

from .models import Notification

log = logging.getLogger(__name__)
# The sweeper leaves notifications younger than one sweep interval to the task queued for them, and
# gives up on older ones than this: news a day late is no news (and a first deploy does not mail out
# the whole history).
UNSENT_MAX_AGE = timedelta(days=1)


def one_line(text: str) -> str:
    """An e-mail subject from text that may hold line breaks (a customer's words, a product name from
    the storefront): a CR or LF in a header would make Django refuse to send the message at all."""
    return " ".join(str(text).split())


def notify(*, user, case=None, title: Callable[[], str], body: Callable[[], str] = lambda: "") -> Notification:
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        notification = Notification.objects.create(user=user, case=case, title=str(title()), body=str(body()))
    enqueue_emails_on_commit([notification.pk])
    return notification


def _enqueue_emails(ids: list[int]) -> None:
    from .tasks import send_notification_emails

    queueing.delay(send_notification_emails, ids, swept_by="send_unsent_notification_emails")


def enqueue_emails_on_commit(ids: list[int]) -> None:
    if ids:
        transaction.on_commit(lambda: _enqueue_emails(ids))


def send_emails(ids: list[int]) -> int:
    """Send the e-mails not sent yet. Sent, then marked, under the row's lock (one transaction per
    e-mail): a crash in between may repeat an e-mail but never loses one, and a second sender (a
    retried task, the sweeper) waits or skips instead of sending it again."""
    sent = 0
    for pk in (
        Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).order_by("pk").values_list("pk", flat=True)
    ):
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("user")
                .filter(pk=pk, emailed_at__isnull=True)
                .first()
            )
            if notification is None:  # sent meanwhile, or being sent by another worker
                continue
            send_mail(
                subject=one_line(f"[{settings.SHOP_NAME}] {notification.title}"),
                message=notification.body or notification.title,
                from_email=None,
                recipient_list=[notification.user.email],
            )
            Notification.objects.filter(pk=pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


def send_unsent_emails(*, now: datetime | None = None) -> int:
    """The e-mails whose task was never queued (broker down) or was lost: sent now, each once."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.NOTIFICATION_EMAIL_SWEEP_INTERVAL_SECONDS)
    unsent = Notification.objects.filter(  # the partial index cases_notification_unsent
        emailed_at__isnull=True, created_at__lte=now - grace, created_at__gte=now - UNSENT_MAX_AGE
    )
    sent = send_emails(list(unsent.order_by("pk").values_list("pk", flat=True)[:5000]))
    if sent:
        log.info("sent %d notification e-mail(s) whose task was lost", sent)
    return sent


def mark_read(*, user, ids: list[int] | None = None) -> int:
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
