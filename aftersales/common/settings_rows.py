"""The shop's settings rows (one row per app, edited by staff in the dashboard), kept in each process.

They are read on most requests (the returns policy reads ReturnSettings for every options page and
every submission) and change a few times a year, so each process keeps the row it read for
FRESH_SECONDS. The process that saves or deletes one forgets it at once (and again at commit, in
case a read inside the saving transaction kept the uncommitted row); every other process (gunicorn
workers, Celery workers) reads it again within FRESH_SECONDS. A per-process copy with a short life
needs no shared cache (the default cache is per process) and no round trip per request; a request
decided under the old row in those few seconds is the same as one that arrived just before the change.
"""

import copy
import time
from typing import Self

from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

FRESH_SECONDS = 5.0

_rows: dict[type, tuple[float, models.Model]] = {}  # model → (monotonic time read, row)


class SettingsRow(models.Model):
    """A settings model with one row (pk 1, made with its defaults on first use)."""

    class Meta:
        abstract = True

    @classmethod
    def current(cls) -> Self:
        """The row, as read at most FRESH_SECONDS ago; a copy, so callers may change and save it."""
        kept = _rows.get(cls)
        now = time.monotonic()
        if kept is None or now - kept[0] > FRESH_SECONDS:
            kept = _rows[cls] = (now, cls.objects.get_or_create(pk=1)[0])
        return copy.copy(kept[1])


def forget_all() -> None:
    """Drop every kept row (tests: a rolled-back transaction changes rows without a signal)."""
    _rows.clear()


@receiver([post_save, post_delete])
def _forget(sender, using, **kwargs):
    if issubclass(sender, SettingsRow):
        _rows.pop(sender, None)
        transaction.on_commit(lambda: _rows.pop(sender, None), using=using)
