"""Shop-level return settings; the return cases' detail rows come with the returns flows."""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ReturnSettings(models.Model):
    """The shop's return policy knobs: one row, edited by staff in the dashboard (no deploy)."""

    auto_approve_limit = models.DecimalField(
        _("auto-approve up to"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("500.00"),
        help_text=_("Requests that pass every rule and refund at most this much are approved at once (R-RET-15)."),
    )
    ship_deadline_days = models.PositiveSmallIntegerField(
        _("days to ship after approval"), default=7, help_text=_("R-RET-10")
    )
    inspection_business_days = models.PositiveSmallIntegerField(
        _("business days to inspect a received parcel"), default=5, help_text=_("R-RET-10")
    )
    free_returns_per_year = models.PositiveSmallIntegerField(
        _("free no-reason returns per customer and year"),
        default=2,
        help_text=_("Return shipping the shop pays for no-reason returns (R-RET-12)."),
    )

    class Meta:
        verbose_name = _("return settings")
        verbose_name_plural = _("return settings")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="returns_settings_single_row"),
            models.CheckConstraint(condition=Q(auto_approve_limit__gte=0), name="returns_settings_limit_non_negative"),
        ]

    def __str__(self):
        return str(_("Return settings"))

    @classmethod
    def current(cls) -> "ReturnSettings":
        return cls.objects.get_or_create(pk=1)[0]
