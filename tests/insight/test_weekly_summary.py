"""R-FB-2: the weekly summary e-mail to supervisors: last week's headline figures beside the week before's,
with the cases-opened chart as an inline PNG, each recipient in their language, each week sent once."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.utils import timezone

from aftersales.celery import app as celery_app
from aftersales.insight import summary
from aftersales.insight.models import WeeklySummary
from aftersales.insight.selectors import Filters
from tests import factories

pytestmark = pytest.mark.django_db

# The conftest's world: Monday 2 March 2026 starts the week a run on Monday 9 March reports.
MONDAY = date(2026, 3, 9)
WEEK = Filters(start=date(2026, 3, 2), end=date(2026, 3, 9))


def test_last_week_is_monday_to_sunday_before_this_week():
    for today in (MONDAY, date(2026, 3, 12), date(2026, 3, 15)):
        assert summary.last_week(today) == WEEK


def test_figures_by_hand(world):
    this = summary.figures(WEEK)
    # Opened 2–8 March: t1 (2nd), r1 (3rd), r2 (4th), pp1 (6th), w1 (8th).
    assert this.opened == 5
    assert this.opened_by_kind == {"ticket": 1, "return": 2, "price_protection": 1, "warranty": 1}
    assert (this.refunds_paid, this.refunds_total) == (1, Decimal("200.00"))  # r1's, paid on the 8th
    assert (this.ratings, this.average_rating) == (2, Decimal("3.00"))  # r2 1 (6th), r1 5 (7th)
    assert this.lowest_reason.reason == "policy"
    assert [(row.kind, row.count) for row in this.resolution] == [("return", 2)]  # r2 closed 5th, r1 6th
    before = summary.figures(Filters(start=date(2026, 2, 23), end=WEEK.start))
    assert (before.opened, before.ratings, before.refunds_paid) == (2, 1, 0)  # r0 and t0; t0's rating


def test_supervisors_get_it_in_their_language_with_the_chart(world, mailoutbox):
    english = factories.StaffFactory(role="supervisor", email="lead@example.com")
    chinese = factories.StaffFactory(role="supervisor", email="zhuguan@example.com", preferred_language="zh-hans")
    factories.StaffFactory(role="supervisor", email="gone@example.com", is_active=False)
    factories.StaffFactory(role="agent")
    factories.StaffFactory(role="finance")  # sees the page, is not sent the e-mail
    factories.StaffFactory(is_superuser=True, email="root@example.com")

    assert summary.send_weekly_summaries(today=MONDAY) == 2

    by_recipient = {message.to[0]: message for message in mailoutbox}
    assert set(by_recipient) == {english.email, chinese.email}
    message = by_recipient[english.email]
    assert message.subject == f"[{settings.SHOP_NAME}] After-sales week 03/02/2026 to 03/08/2026"
    assert "Cases opened: 5 (2)" in message.body
    assert "Refunds paid: 1 · 200.00 (0 · 0.00)" in message.body
    assert "Average rating: 3.00 / 5 (4.00 / 5)" in message.body
    assert "start=2026-03-02&end=2026-03-08" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and 'src="cid:cases-opened"' in html
    image = message.attachments[0]
    assert image.get_content_type() == "image/png" and image["Content-ID"] == "<cases-opened>"
    assert image.get_payload(decode=True).startswith(b"\x89PNG")
    assert message.message().get_content_subtype() == "related"

    zh = by_recipient[chinese.email]
    assert "售后" in zh.subject and "After-sales" not in zh.subject
    assert "After-sales" not in zh.body and "Cases opened" not in zh.body
    assert WeeklySummary.objects.filter(week_start=WEEK.start, sent_at__isnull=False).count() == 2


def test_a_second_run_sends_nothing_and_a_stale_claim_is_taken_over(world, mailoutbox):
    lead = factories.StaffFactory(role="supervisor", email="lead@example.com")
    other = factories.StaffFactory(role="supervisor", email="other@example.com")
    crashed = factories.StaffFactory(role="supervisor", email="crashed@example.com")
    # Another run is sending to `other` right now; a run that died long ago claimed `crashed`.
    WeeklySummary.objects.create(recipient=other, week_start=WEEK.start)
    WeeklySummary.objects.create(
        recipient=crashed, week_start=WEEK.start, claimed_at=timezone.now() - timedelta(hours=2)
    )

    assert summary.send_weekly_summaries(today=MONDAY) == 2
    assert sorted(m.to[0] for m in mailoutbox) == [crashed.email, lead.email]
    assert summary.send_weekly_summaries(today=MONDAY + timedelta(days=3)) == 0
    assert len(mailoutbox) == 2
    # The next week is a new e-mail.
    assert summary.send_weekly_summaries(today=MONDAY + timedelta(days=7)) == 3


def test_the_permission_is_the_subscription(world, mailoutbox):
    """A user outside the supervisor role can be given the e-mail on their own."""
    finance = factories.StaffFactory(role="finance", email="cfo@example.com")
    finance.user_permissions.add(Permission.objects.get(codename="receive_weekly_summary"))
    assert summary.send_weekly_summaries(today=MONDAY) == 1
    assert mailoutbox[0].to == [finance.email]


def test_beat_sends_it_on_monday_mornings():
    entry = settings.CELERY_BEAT_SCHEDULE["send-weekly-summaries"]
    celery_app.loader.import_default_modules()  # what a worker does at start: autodiscovers the tasks
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"].day_of_week == {1} and entry["schedule"].hour == {settings.WEEKLY_SUMMARY_HOUR}
