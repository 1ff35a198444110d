"""Sign-for day counting and the three-guarantees ladder (三包, R-RET-2 / R-WAR-2).

Written once here, in the core, because both the returns app (which remedies a quality problem
opens today) and the warranty app (which remedies a claim may pick) read it.

Times (DOMAIN "Times"): day 0 is the local calendar day of sign-for in the shop's time zone; a window
of N days is open while `local_date(now) - local_date(signed_for_at) <= N`, i.e. until the end of
local day N.
"""

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Remedy(models.TextChoices):
    RETURN = "return", _("Return & refund")
    EXCHANGE = "exchange", _("Exchange")
    REPAIR = "repair", _("Free repair")


def local_day(moment: datetime) -> date:
    return timezone.localdate(moment)


def day_number(signed_for_at: datetime, now: datetime) -> int:
    """0 on the sign-for day, 1 the next local day, …"""
    return (local_day(now) - local_day(signed_for_at)).days


def end_of_local_day(day: date) -> datetime:
    """The last moment of `day` in the shop's time zone: when a day-counted window closes."""
    return datetime.combine(day, time.max, tzinfo=timezone.get_current_timezone())


def window_end(signed_for_at: datetime, days: int) -> datetime:
    """The last moment of local day `days` after sign-for: the window's closing time."""
    return end_of_local_day(local_day(signed_for_at) + timedelta(days=days))


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, or that month's last day (31 Jan + 1 → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def warranty_end(signed_for_at: datetime, warranty_months: int) -> datetime:
    """Coverage runs from sign-for to the end of the day before the same date `warranty_months` on."""
    return end_of_local_day(add_months(local_day(signed_for_at), warranty_months) - timedelta(days=1))


@dataclass(frozen=True)
class LadderStep:
    remedy: str
    open_until: datetime


def quality_remedies(
    *, signed_for_at: datetime, now: datetime, warranty_months: int, return_days: int = 7, exchange_days: int = 15
) -> list[LadderStep]:
    """R-RET-2: the remedies a performance fault opens on `now`'s day.

    Days 0–7 return, exchange or repair; 8–15 exchange or repair; later and within the warranty
    free repair; after the warranty nothing (a paid repair quote is a separate offer)."""
    day = day_number(signed_for_at, now)
    if day < 0:
        return []
    steps = []
    covered_until = warranty_end(signed_for_at, warranty_months)
    if day <= return_days:
        steps.append(LadderStep(Remedy.RETURN, window_end(signed_for_at, return_days)))
    if day <= exchange_days:
        steps.append(LadderStep(Remedy.EXCHANGE, window_end(signed_for_at, exchange_days)))
    if now <= covered_until:
        steps.append(LadderStep(Remedy.REPAIR, covered_until))
    return steps
