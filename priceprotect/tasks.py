"""Celery tasks: thin, idempotent wrappers over price-protection services."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import services


@shared_task(name="priceprotect.tasks.sweep_price_drop", acks_late=True)
def sweep_price_drop(entry_id: int) -> int:
    """After a regular price drop: tell (or claim for) every order it reaches; safe to run again."""
    return services.sweep_price_drop(entry_id=entry_id)


@shared_task(name="priceprotect.tasks.sweep_prices_taking_effect")
def sweep_prices_taking_effect() -> int:
    """Periodic: prices recorded ahead of time are swept once they take effect (twice the interval
    looked back, so a late or skipped beat loses nothing)."""
    since = timezone.now() - timedelta(seconds=2 * settings.PRICE_DROP_SWEEP_INTERVAL_SECONDS)
    return services.sweep_prices_taking_effect(since=since)
