"""The Celery application: workers run deadlines, refunds and notifications."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")

app = Celery("aftersales")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_connections(task=None, **kwargs):
    """Around each task, what Django does around each request: close a connection older than
    DATABASE_CONN_MAX_AGE or broken by an error, keep the others (settings.CELERY_DB_REUSE_MAX stops
    Celery from closing every connection after every task; a new PostgreSQL connection per refund cost
    more than paying it). Not for eager tasks, which run inside the caller's transaction."""
    if task is not None and task.request.is_eager:
        return
    from django.db import close_old_connections

    close_old_connections()
