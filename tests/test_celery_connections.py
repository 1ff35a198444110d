"""Workers keep their database connection from task to task (a new PostgreSQL connection per refund cost
more than paying it, bench/refunds.py) and close it as Django does around a request: when it is older than
DATABASE_CONN_MAX_AGE. Celery itself would close it after every task."""

from types import SimpleNamespace

import pytest
from django.db import connection

from aftersales.celery import app, close_old_connections

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit, as in a worker


def task(eager: bool = False):
    return SimpleNamespace(request=SimpleNamespace(is_eager=eager))


def test_celery_is_told_not_to_close_the_connection_after_every_task():
    assert app.conf.get("CELERY_DB_REUSE_MAX") >= 10**6


def test_a_connection_is_kept_until_it_is_older_than_conn_max_age(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    connection.ensure_connection()
    kept = connection.connection
    close_old_connections(task=task())
    assert connection.connection is kept  # reused by the next task
    connection.close_at = 0  # older than CONN_MAX_AGE
    close_old_connections(task=task())
    assert connection.connection is None


def test_an_eager_task_leaves_the_callers_connection_alone(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.ensure_connection()
    connection.close_at = 0
    close_old_connections(task=task(eager=True))
    assert connection.connection is not None
