from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WeeklySummary(models.Model):
    """One recipient's weekly summary e-mail: claimed before it is sent and stamped after, so a task run
    twice or retried sends each recipient each week's e-mail once (a crash between sending and stamping
    may repeat it, never lose it)."""

    week_start = models.DateField(_("week starting"))  # a Monday
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="+", verbose_name=_("recipient")
    )
    claimed_at = models.DateTimeField(_("claimed"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("weekly summary")
        verbose_name_plural = _("weekly summaries")
        default_permissions = ()
        # The insight page has no model of its own to hang permissions on, so they live here.
        permissions = [
            ("view_insight", _("Can see the insight page")),
            ("receive_weekly_summary", _("Receives the weekly summary e-mail")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "week_start"], name="insight_one_summary_a_week"),
        ]

    def __str__(self):
        return f"{self.recipient} · {self.week_start:%Y-%m-%d}"
