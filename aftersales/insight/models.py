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


# --- Units sold per product and day (the return-rate chart's denominator, pre-aggregated) ---------------
# A year of order lines is a join of a million orders with their lines: too slow for the page. An hourly
# task (aftersales.insight.rollup) adds each finished shop day to DailySales; database triggers note in
# OrderChange every later write that can change a day already added (an order line written or removed, an
# order placed at another time, cancelled or deleted). The return-rate selector reads DailySales for the
# days that are added and unchanged since, and the order lines themselves for the rest (today, changed
# days), so the figures are those the lines give at that moment. Internal tables: no admin, no permissions.


class DailySales(models.Model):
    """Units of `product` on the lines of orders placed on shop day `day` and not cancelled."""

    day = models.DateField()
    product = models.ForeignKey("orders.Product", models.CASCADE, related_name="+", db_index=False)
    units = models.PositiveBigIntegerField()

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["day", "product"], name="insight_sales_once_a_day")]

    def __str__(self):
        return f"{self.day} {self.product_id}: {self.units}"


class SalesRollup(models.Model):
    """One row: DailySales holds every shop day before `complete_before`, counted in `time_zone`."""

    complete_before = models.DateField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        default_permissions = ()
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="insight_rollup_single_row")]

    def __str__(self):
        return f"before {self.complete_before} ({self.time_zone})"


class OrderChange(models.Model):
    """Written by database triggers (migration 0002_daily_sales) whenever a write may change the units
    sold on the day an order was placed: `placed_at` is that moment (both, if it moved)."""

    placed_at = models.DateTimeField(db_index=True)

    class Meta:
        default_permissions = ()

    def __str__(self):
        return f"{self.placed_at:%Y-%m-%d %H:%M}"
