"""Celery tasks: thin, idempotent wrappers over warranty services."""

from celery import shared_task

from .services.reminders import remind_expiring


@shared_task(name="warranty.tasks.remind_expiring_warranties")
def remind_expiring_warranties() -> int:
    """Daily: tell customers whose warranty ends soon (once per line and end date)."""
    return remind_expiring()
