"""Celery tasks: thin, idempotent wrappers over the outgoing webhooks (`aftersales.orders.webhooks`)."""

from celery import shared_task

from . import webhooks


@shared_task(name="aftersales.orders.tasks.deliver_webhook")
def deliver_webhook(delivery_id: int) -> str:
    """The nudge sent when a delivery is queued; doing nothing is fine (already sent, taken or not due)."""
    delivery = webhooks.deliver(delivery_id)
    return delivery.state if delivery else "not due"


@shared_task(name="aftersales.orders.tasks.sweep_webhooks")
def sweep_webhooks() -> int:
    """Send the retries that are due and whatever a lost nudge or a dead worker left behind."""
    return webhooks.deliver_due()
