"""The weekly summary e-mail to supervisors (R-FB-2): last week's headline figures beside the week
before's, and the cases-opened chart as an inline PNG, in each recipient's language.

The figures come from the insight page's own selectors, so the e-mail and the page cannot disagree."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from email.mime.image import MIMEImage

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from . import charts, selectors
from .dashboard import kind_labels
from .models import WeeklySummary
from .selectors import FeedbackReasonRow, Filters, ResolutionRow, ReturnRateRow

CHART_CID = "cases-opened"
CLAIM_EXPIRES = timedelta(hours=1)


@dataclass(frozen=True)
class Figures:
    opened: int
    opened_by_kind: dict[str, int]
    resolution: list[ResolutionRow]
    first_responses_on_time: int
    first_responses_counted: int
    refunds_paid: int
    refunds_total: Decimal
    compensation_claims: int
    compensation_net: Decimal
    ratings: int
    rating_sum: int
    lowest_reason: FeedbackReasonRow | None
    top_return_rate: ReturnRateRow | None

    @property
    def first_responses_percent(self) -> Decimal | None:
        counted = self.first_responses_counted
        return None if not counted else (Decimal(100 * self.first_responses_on_time) / counted).quantize(Decimal("0.1"))

    @property
    def average_rating(self) -> Decimal | None:
        return None if not self.ratings else (Decimal(self.rating_sum) / self.ratings).quantize(Decimal("0.01"))


def last_week(today: date) -> Filters:
    """Monday to Sunday of the week before the one `today` is in."""
    start = today - timedelta(days=today.weekday() + 7)
    return Filters(start=start, end=start + timedelta(days=7))


def figures(filters: Filters) -> Figures:
    volumes = selectors.case_volumes(filters)
    by_kind: dict[str, int] = {}
    for row in volumes:
        by_kind[row.kind] = by_kind.get(row.kind, 0) + row.count
    sla = selectors.sla_compliance(filters)
    refunds = [row for row in selectors.refund_totals(filters) if row.by == "source"]
    compensation = selectors.price_protection_totals(filters)
    satisfaction = selectors.satisfaction_trend(filters)
    lowest = selectors.lowest_rated_reasons(filters)
    top = selectors.return_rates(filters, top=1)
    return Figures(
        opened=sum(by_kind.values()),
        opened_by_kind=by_kind,
        resolution=selectors.resolution_times(filters),
        first_responses_on_time=sum(row.on_time for row in sla),
        first_responses_counted=sum(row.counted for row in sla),
        refunds_paid=sum(row.count for row in refunds),
        refunds_total=sum((row.total for row in refunds), Decimal("0.00")),
        compensation_claims=sum(row.count for row in compensation),
        compensation_net=sum((row.net for row in compensation), Decimal("0.00")),
        ratings=sum(row.count for row in satisfaction),
        rating_sum=sum(row.rating_sum for row in satisfaction),
        lowest_reason=lowest[0] if lowest else None,
        top_return_rate=top[0] if top else None,
    )


def recipients():
    """Active users with an e-mail address who hold `insight.receive_weekly_summary` through a role
    group or on their own (superusers only if they were given it: the permission is the subscription)."""
    permission = Permission.objects.get(content_type__app_label="insight", codename="receive_weekly_summary")
    return (
        get_user_model()
        .objects.filter(Q(groups__permissions=permission) | Q(user_permissions=permission), is_active=True)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def render(week: Filters, language: str) -> EmailMultiAlternatives:
    """The e-mail (no recipient yet) in `language`: plain text, HTML, and the chart as a related image."""
    before = Filters(start=week.start - timedelta(days=7), end=week.start)
    with translation.override(language):
        this, previous = figures(week), figures(before)
        kinds = kind_labels()
        last_day = week.end - timedelta(days=1)
        context = {
            "shop": settings.SHOP_NAME,
            "start": formats.date_format(week.start, "SHORT_DATE_FORMAT"),
            "end": formats.date_format(last_day, "SHORT_DATE_FORMAT"),
            "this": this,
            "previous": previous,
            "kinds": [
                (kinds.get(kind, kind), count, previous.opened_by_kind.get(kind, 0))
                for kind, count in this.opened_by_kind.items()
            ],
            "resolution": [(kinds.get(row.kind, row.kind), row) for row in this.resolution],
            "insight_url": settings.PORTAL_URL
            + reverse("admin:insight")
            + f"?start={week.start:%Y-%m-%d}&end={last_day:%Y-%m-%d}",
            "chart_cid": CHART_CID,
        }
        subject = _("[%(shop)s] After-sales week %(start)s to %(end)s") % context
        message = EmailMultiAlternatives(subject=subject, body=render_to_string("insight/email/weekly.txt", context))
        message.attach_alternative(render_to_string("insight/email/weekly.html", context), "text/html")
        png = charts.volumes(selectors.case_volumes(week), buckets=week.buckets(), kind_labels=kinds, png=True)
    message.mixed_subtype = "related"  # the HTML part shows the image by its Content-ID
    image = MIMEImage(png, "png")
    image.add_header("Content-ID", f"<{CHART_CID}>")
    image.add_header("Content-Disposition", "inline", filename=f"{CHART_CID}.png")
    message.attach(image)
    return message


def send_weekly_summaries(today: date | None = None) -> int:
    """Send last week's summary to every recipient who has not had it; returns how many were sent.

    A recipient's row is claimed before sending, so two runs at once (or a retry) never send one
    person the same week twice. A claim left unsent for CLAIM_EXPIRES (a worker died between the two)
    is taken over by the next run. Rendering happens once per language."""
    week = last_week(today or timezone.localdate())
    rendered: dict[str, EmailMultiAlternatives] = {}
    sent = 0
    for user in recipients():
        if not _claim(user, week.start):
            continue
        language = user.preferred_language or settings.LANGUAGE_CODE
        if language not in rendered:
            rendered[language] = render(week, language)
        message = rendered[language]
        message.to = [user.email]
        message.send()
        WeeklySummary.objects.filter(recipient=user, week_start=week.start).update(sent_at=timezone.now())
        sent += 1
    return sent


def _claim(user, week_start: date) -> bool:
    now = timezone.now()
    try:
        with transaction.atomic():
            claim, created = WeeklySummary.objects.get_or_create(recipient=user, week_start=week_start)
    except IntegrityError:  # another run inserted it between our read and our insert
        return False
    if created:
        return True
    # Taken over only if still unsent and stale; the conditional update lets one run win.
    return (
        WeeklySummary.objects.filter(
            pk=claim.pk, sent_at__isnull=True, claimed_at=claim.claimed_at, claimed_at__lt=now - CLAIM_EXPIRES
        ).update(claimed_at=now)
        == 1
    )
