"""Notification and ticket e-mails are outbox rows: a sweep (beat) sends the ones whose task never
reached the broker, each once. tests/faults/test_redis_outage.py shows it with Redis really stopped."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from aftersales.cases.models import Notification
from aftersales.cases.notifications import send_emails, send_unsent_emails
from techsupport.mail import send_unsent
from techsupport.models import MailMessage
from tests import factories

pytestmark = pytest.mark.django_db


def unsent(customer, *, age: timedelta) -> Notification:
    notification = Notification.objects.create(user=customer, title="Your return was approved")
    Notification.objects.filter(pk=notification.pk).update(created_at=timezone.now() - age)
    return notification


def test_the_sweep_sends_what_its_task_never_sent_once(customer, settings):
    settings.NOTIFICATION_EMAIL_SWEEP_INTERVAL_SECONDS = 60
    lost = unsent(customer, age=timedelta(minutes=5))
    young = unsent(customer, age=timedelta(seconds=10))  # its task may still be on its way
    stale = unsent(customer, age=timedelta(days=2))  # no longer news
    assert send_unsent_emails() == 1
    assert [m.to for m in mail.outbox] == [[customer.email]]
    assert Notification.objects.filter(pk=lost.pk, emailed_at__isnull=False).exists()
    assert not Notification.objects.filter(pk__in=[young.pk, stale.pk], emailed_at__isnull=False).exists()
    assert send_unsent_emails() == 0 and send_emails([lost.pk]) == 0  # the sweep again, the late task: nothing
    assert len(mail.outbox) == 1


def test_the_sweep_sends_a_ticket_e_mail_whose_task_was_lost_once_in_its_thread(customer, settings):
    settings.NOTIFICATION_EMAIL_SWEEP_INTERVAL_SECONDS = 60
    case = factories.open_case(customer=customer, kind="ticket", subject="App will not pair")
    notification = Notification.objects.create(
        user=customer, case=case, title="We received your question", emailed_at=timezone.now()
    )
    message = MailMessage.objects.create(
        message_id="<lost@shop.example>",
        case=case,
        direction="out",
        at=timezone.now() - timedelta(minutes=5),
        notification=notification,
        automatic=True,
    )
    assert send_unsent() == 1 and send_unsent() == 0
    [sent] = mail.outbox
    assert sent.extra_headers["Message-ID"] == "<lost@shop.example>" and sent.extra_headers["Auto-Submitted"]
    message.refresh_from_db()
    assert message.sent_at is not None
