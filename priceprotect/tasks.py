"""Celery tasks: thin, idempotent wrappers over price-protection services."""

from celery import shared_task

from . import services


@shared_task(name="priceprotect.tasks.sweep_price_drop", acks_late=True)
def sweep_price_drop(entry_id: int) -> int:
    """After a regular price drop: tell (or claim for) every order it reaches; safe to run again."""
    return services.sweep_price_drop(entry_id=entry_id)
