from celery import shared_task

from . import rollup, summary


@shared_task(name="aftersales.insight.tasks.send_weekly_summaries")
def send_weekly_summaries() -> int:
    return summary.send_weekly_summaries()


@shared_task(name="aftersales.insight.tasks.roll_up_daily_sales")
def roll_up_daily_sales() -> int:
    """Add the days ended since the last run, and count again the days changed since, to the units sold
    per day (hourly: the page reads a changed day from the order lines until then)."""
    return rollup.roll_up()
