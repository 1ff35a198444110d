"""The settings rows are read once per process and kept for a few seconds: a save in this process is seen
at once, a change made by another process (here: an UPDATE, which sends no signal) once the kept row is
older than FRESH_SECONDS."""

from decimal import Decimal

import pytest
from django.db import transaction

from aftersales.common import settings_rows
from aftersales.finance.models import RefundSettings
from returns.models import ReturnSettings
from techsupport.models import SupportSettings

pytestmark = pytest.mark.django_db


def test_the_row_is_read_once_then_kept(django_assert_num_queries):
    ReturnSettings.objects.create(pk=1, auto_approve_limit=Decimal("300.00"))
    RefundSettings.objects.create(pk=1)
    with django_assert_num_queries(1):
        assert ReturnSettings.current().auto_approve_limit == Decimal("300.00")
    with django_assert_num_queries(0):
        assert ReturnSettings.current().auto_approve_limit == Decimal("300.00")
    with django_assert_num_queries(1):  # each model keeps its own row
        RefundSettings.current()


def test_a_save_in_this_process_is_seen_at_once():
    row = ReturnSettings.current()
    row.auto_approve_limit = Decimal("100.00")
    row.save()
    assert ReturnSettings.current().auto_approve_limit == Decimal("100.00")
    row.delete()
    assert ReturnSettings.current().auto_approve_limit == Decimal("500.00")  # made again with the defaults


def test_another_process_change_is_seen_once_the_kept_row_is_old(monkeypatch):
    monkeypatch.setattr(settings_rows, "FRESH_SECONDS", 60.0)
    assert ReturnSettings.current().free_returns_per_year == 2
    ReturnSettings.objects.filter(pk=1).update(free_returns_per_year=5)
    assert ReturnSettings.current().free_returns_per_year == 2  # kept: at most FRESH_SECONDS old
    monkeypatch.setattr(settings_rows, "FRESH_SECONDS", 0.0)
    assert ReturnSettings.current().free_returns_per_year == 5


def test_callers_get_a_copy():
    row = ReturnSettings.current()
    row.ship_deadline_days = 99  # changed, never saved
    assert ReturnSettings.current().ship_deadline_days == 7


def test_a_row_read_inside_the_saving_transaction_is_forgotten_at_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        row = SupportSettings.current()
        row.close_after_days = 9
        row.save()
        assert SupportSettings.current().close_after_days == 9  # kept, though not committed yet
    # Forgotten at commit, so the next read sees the database (here changed once more, as by another process).
    SupportSettings.objects.filter(pk=1).update(close_after_days=11)
    assert SupportSettings.current().close_after_days == 11
