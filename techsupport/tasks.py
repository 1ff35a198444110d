"""Celery tasks: thin, idempotent wrappers over the support services and mail."""

from celery import shared_task

from . import mail


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
