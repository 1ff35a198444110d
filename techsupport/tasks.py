"""Celery tasks: thin, idempotent wrappers over the support services and mail."""

import logging

from celery import shared_task

from . import mail

logger = logging.getLogger(__name__)


@shared_task(
    name="techsupport.tasks.send_ticket_mail",
    autoretry_for=(OSError,),  # smtplib's errors are OSErrors
    retry_backoff=True,
    max_retries=8,
    acks_late=True,
)
def send_ticket_mail(message_pk: int, notification_pk: int, automatic: bool = False) -> bool:
    """Send one recorded ticket e-mail; a retry sends the same message with the same Message-ID."""
    return mail.send_ticket_mail(message_pk=message_pk, notification_pk=notification_pk, automatic=automatic)


@shared_task(name="techsupport.tasks.send_unsent_ticket_mail")
def send_unsent_ticket_mail() -> int:
    """Beat: the ticket e-mails whose task never reached the broker (it was down) or was lost."""
    return mail.send_unsent()


@shared_task(name="techsupport.tasks.fetch_support_mail")
def fetch_support_mail() -> dict:
    """Periodic (beat, when SUPPORT_IMAP_URL is set): file the support mailbox's unread mail."""
    result = mail.fetch_mailbox()
    if result.counts:
        logger.info("Support mailbox: %s", result)
    return dict(result.counts)
