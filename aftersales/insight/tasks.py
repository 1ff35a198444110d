from celery import shared_task

from . import summary


@shared_task(name="aftersales.insight.tasks.send_weekly_summaries")
def send_weekly_summaries() -> int:
    return summary.send_weekly_summaries()
