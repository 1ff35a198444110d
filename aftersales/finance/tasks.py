"""Celery tasks: thin, idempotent wrappers over the refund executor (R-FIN-4)."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import execution, reconciliation


@shared_task(name="aftersales.finance.tasks.pay_due_refunds")
def pay_due_refunds() -> int:
    """The nudge sent when a refund is approved: pay what is due, with help from other workers."""
    execution.nudge_received()
    return execution.execute_due(call_for_help=True)


@shared_task(name="aftersales.finance.tasks.execute_refund")
def execute_refund(refund_id: int) -> str:
    """Pay that one refund (the nudge of earlier releases, which may still be queued); doing nothing
    is fine (already taken or not due)."""
    refund = execution.execute(refund_id)
    return refund.state if refund else "not due"


@shared_task(name="aftersales.finance.tasks.sweep_refunds")
def sweep_refunds() -> dict:
    """Re-drive what a lost nudge or a dead worker left behind, then pay everything due."""
    return {"requeued": execution.requeue_stalled(), "executed": execution.execute_due()}


@shared_task(name="aftersales.finance.tasks.reconcile_yesterday")
def reconcile_yesterday() -> int:
    """Yesterday's refunds against the gateway's; finance is told of any difference."""
    return reconciliation.reconcile_and_report(timezone.localdate() - timedelta(days=1))
