"""Celery tasks: thin, idempotent wrappers over the cases services."""

from celery import shared_task

from . import calendar, deadlines, notifications, retention


@shared_task(name="aftersales.cases.tasks.sweep_deadlines")
def sweep_deadlines() -> int:
    return deadlines.sweep_due_deadlines()


@shared_task(name="aftersales.cases.tasks.send_notification_emails", autoretry_for=(OSError,), retry_backoff=True)
def send_notification_emails(ids: list[int]) -> int:
    return notifications.send_emails(ids)


@shared_task(name="aftersales.cases.tasks.send_unsent_notification_emails")
def send_unsent_notification_emails() -> int:
    """Beat: the e-mails whose task never reached the broker (it was down) or was lost."""
    return notifications.send_unsent_emails()


@shared_task(name="aftersales.cases.tasks.check_business_calendar")
def check_business_calendar() -> list[int]:
    return calendar.warn_if_years_missing()


@shared_task(name="aftersales.cases.tasks.purge_expired_evidence")
def purge_expired_evidence() -> int:
    return retention.purge_expired_evidence()
