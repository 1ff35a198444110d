from celery import shared_task

from . import rollup, summary


@shared_task(name="aftersales.insight.tasks.send_weekly_summaries")
def send_weekly_summaries() -> int:
    return summary.send_weekly_summaries()


@shared_task(name="aftersales.insight.tasks.roll_up_daily_sales")
def roll_up_daily_sales() -> int:
    """Add yesterday (and any day changed since it was counted) to the units sold per day."""
    return rollup.roll_up()
