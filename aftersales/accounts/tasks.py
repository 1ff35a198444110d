"""Account e-mails, sent by a worker after the request's commit (aftersales.accounts.emails)."""

from celery import shared_task

from . import emails


@shared_task(name="aftersales.accounts.tasks.send_registration_email", autoretry_for=(OSError,), retry_backoff=True)
def send_registration_email(pending_id: int) -> bool:
    return emails.registration(pending_id)


@shared_task(name="aftersales.accounts.tasks.send_password_reset_email", autoretry_for=(OSError,), retry_backoff=True)
def send_password_reset_email(email: str, language: str) -> int:
    return emails.password_reset(email, language)
