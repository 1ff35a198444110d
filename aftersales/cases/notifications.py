"""Telling customers what happened: a portal notification row now, the e-mail after commit.

Texts are rendered in the recipient's language, so `title` and `body` are callables evaluated
under that language."""

from collections.abc import Callable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation

from .models import Notification


def one_line(text: str) -> str:
    """An e-mail subject from text that may hold line breaks (a customer's words, a product name from
    the storefront): a CR or LF in a header would make Django refuse to send the message at all."""
    return " ".join(str(text).split())


def notify(*, user, case=None, title: Callable[[], str], body: Callable[[], str] = lambda: "") -> Notification:
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        notification = Notification.objects.create(user=user, case=case, title=str(title()), body=str(body()))
    transaction.on_commit(lambda: _enqueue_emails([notification.pk]))
    return notification


def _enqueue_emails(ids: list[int]) -> None:
    from .tasks import send_notification_emails

    send_notification_emails.delay(ids)


def enqueue_emails_on_commit(ids: list[int]) -> None:
    if ids:
        transaction.on_commit(lambda: _enqueue_emails(ids))


def send_emails(ids: list[int]) -> int:
    """Send the e-mails not sent yet. Sent, then marked: a crash in between may repeat an e-mail
    but never loses one (a retried task skips the ones already marked)."""
    sent = 0
    for notification in Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).select_related("user"):
        send_mail(
            subject=one_line(f"[{settings.SHOP_NAME}] {notification.title}"),
            message=notification.body or notification.title,
            from_email=None,
            recipient_list=[notification.user.email],
        )
        Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


def mark_read(*, user, ids: list[int] | None = None) -> int:
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
