"""Evidence retention (issue 10): attachment files are deleted EVIDENCE_RETENTION_DAYS after their case
closed, by a batched, idempotent job; the rows and SHA-256 stay; open cases, recent closures, cases with
an unfinished refund and files shared with such a case keep their evidence."""

import io
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from aftersales.cases import services, tasks
from aftersales.cases.attachments import add_attachment, share_attachments
from aftersales.cases.models import Attachment, CaseEvent, CaseKind
from aftersales.cases.retention import expired_attachments, purge_expired_evidence
from aftersales.finance.models import Refund
from tests import factories

pytestmark = pytest.mark.django_db

CLOSED = datetime(2023, 3, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def photo() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buffer, format="JPEG")
    return SimpleUploadedFile("evidence.jpg", buffer.getvalue(), content_type="image/jpeg")


def closed_case(customer, *, at=CLOSED, photos=1, order=None):
    """A case with `photos` attachments, cancelled by its customer at `at` (the plain flow)."""
    with time_machine.travel(at - timedelta(days=2), tick=False):
        case = factories.open_case(customer=customer, kind=CaseKind.TICKET, order=order)
        for _ in range(photos):
            add_attachment(case=case, uploaded_by=customer, upload=photo())
    with time_machine.travel(at, tick=False):
        services.transition(case=case, name="cancel", actor=customer)
    case.refresh_from_db()
    assert case.closed_at == at
    return case


def stored(attachment) -> bool:
    return (Path(django_settings.PRIVATE_MEDIA_ROOT) / attachment.file.name).is_file()


@pytest.fixture
def days(settings):
    settings.EVIDENCE_RETENTION_DAYS = 365
    return 365


def test_files_of_a_case_closed_longer_than_the_period_are_deleted_and_the_rows_kept(customer, plain_flow, days):
    case = closed_case(customer, photos=2)
    attachments = list(case.attachments.order_by("pk"))
    hashes = [a.sha256 for a in attachments]
    assert all(stored(a) for a in attachments)

    # One minute before the period ends: nothing goes.
    assert purge_expired_evidence(now=CLOSED + timedelta(days=days, minutes=-1)) == 0
    assert all(stored(a) for a in attachments)

    later = CLOSED + timedelta(days=days, minutes=1)
    assert purge_expired_evidence(now=later) == 2
    for attachment in case.attachments.order_by("pk"):
        assert attachment.purged_at == later
        assert not stored(attachment)
    assert [a.sha256 for a in case.attachments.order_by("pk")] == hashes  # the audit trail stays
    event = case.events.get(data__purged_attachments__isnull=False)
    assert event.data == {"purged_attachments": [a.pk for a in attachments], "retention_days": days}
    assert not event.public and event.actor is None and event.at == later
    assert "2 files removed" in event.note

    # Idempotent: a second run (or a second beat) finds nothing and writes nothing.
    assert purge_expired_evidence(now=later + timedelta(days=1)) == 0
    assert case.events.filter(data__purged_attachments__isnull=False).count() == 1


def test_open_and_recently_closed_cases_keep_their_evidence(customer, plain_flow, days):
    with time_machine.travel(CLOSED - timedelta(days=900), tick=False):
        still_open = factories.open_case(customer=customer, kind=CaseKind.TICKET)
        add_attachment(case=still_open, uploaded_by=customer, upload=photo())
    recent = closed_case(customer, at=CLOSED + timedelta(days=200))
    old = closed_case(customer)
    now = CLOSED + timedelta(days=days + 1)
    assert list(expired_attachments(now=now)) == list(old.attachments.all())
    assert purge_expired_evidence(now=now) == 1
    assert stored(still_open.attachments.get()) and stored(recent.attachments.get())
    assert not stored(old.attachments.get())


@pytest.mark.parametrize("state", ["pending_approval", "approved", "processing", "failed", "held"])
def test_a_case_with_an_unfinished_refund_keeps_its_evidence_until_it_is_finished(customer, plain_flow, days, state):
    order = factories.order_with_lines(customer=customer)
    case = closed_case(customer, order=order)
    refund = Refund.objects.create(
        order=order,
        case=case,
        source=Refund.Source.GOODWILL,
        amount=Decimal("10.00"),
        state=state,
        destination=Refund.Destination.BALANCE,
        idempotency_key=f"retention-{state}",
    )
    now = CLOSED + timedelta(days=days + 30)
    assert purge_expired_evidence(now=now) == 0
    assert stored(case.attachments.get())
    Refund.objects.filter(pk=refund.pk).update(state=Refund.State.REJECTED)
    assert purge_expired_evidence(now=now) == 1
    assert not stored(case.attachments.get())


def test_a_file_shared_with_a_case_still_held_stays_until_both_may_go(customer, plain_flow, days):
    """share_attachments names one stored file from two rows: the old case's row may not delete the
    file the newer case still shows."""
    old = closed_case(customer)
    with time_machine.travel(CLOSED, tick=False):
        newer = factories.open_case(customer=customer, kind=CaseKind.TICKET)
        share_attachments(source=old, target=newer)
    shared = newer.attachments.get()
    assert shared.file.name == old.attachments.get().file.name
    now = CLOSED + timedelta(days=days + 1)
    assert purge_expired_evidence(now=now) == 0
    assert stored(shared)
    with time_machine.travel(CLOSED + timedelta(days=10), tick=False):
        services.transition(case=newer, name="cancel", actor=customer)
    assert purge_expired_evidence(now=now) == 0  # the newer case closed only days + 1 - 10 days ago
    assert purge_expired_evidence(now=now + timedelta(days=10)) == 2
    assert not stored(shared)
    assert Attachment.objects.filter(purged_at__isnull=True).count() == 0


def test_purge_runs_in_batches_until_done(customer, plain_flow, days):
    cases = [closed_case(customer, photos=2) for _ in range(3)]
    assert purge_expired_evidence(now=CLOSED + timedelta(days=days + 1), batch_size=4) == 6
    assert Attachment.objects.filter(purged_at__isnull=True).count() == 0
    assert not any(stored(a) for a in Attachment.objects.all())
    # Each case's timeline says what went, in however many batches it was taken.
    purged = [
        sorted(
            pk for e in c.events.filter(data__purged_attachments__isnull=False) for pk in e.data["purged_attachments"]
        )
        for c in cases
    ]
    assert purged == [sorted(c.attachments.values_list("pk", flat=True)) for c in cases]


def test_a_retention_of_zero_keeps_everything(customer, plain_flow, settings):
    settings.EVIDENCE_RETENTION_DAYS = 0
    case = closed_case(customer)
    assert purge_expired_evidence(now=CLOSED + timedelta(days=10_000)) == 0
    assert stored(case.attachments.get())


def test_the_nightly_task_purges_with_the_clock(customer, plain_flow, days):
    assert django_settings.CELERY_BEAT_SCHEDULE["purge-expired-evidence"]["task"] == tasks.purge_expired_evidence.name
    case = closed_case(customer)
    with time_machine.travel(CLOSED + timedelta(days=days - 1), tick=False):
        assert tasks.purge_expired_evidence.delay().get() == 0
    with time_machine.travel(CLOSED + timedelta(days=days + 1), tick=False):
        assert tasks.purge_expired_evidence.delay().get() == 1
    assert not stored(case.attachments.get())


def test_portal_admin_and_api_say_the_file_was_removed_instead_of_a_broken_link(
    client, customer, supervisor, plain_flow, days
):
    case = closed_case(customer)
    attachment = case.attachments.get()
    purge_expired_evidence(now=CLOSED + timedelta(days=days + 1))
    client.force_login(customer)
    page = client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    assert "Removed after the retention period" in page
    assert reverse("portal:attachment-download", args=[attachment.pk]) not in page
    download = client.get(reverse("portal:attachment-download", args=[attachment.pk]))
    assert download.status_code == 410

    api = APIClient()
    api.force_authenticate(customer)
    body = api.get(reverse("api-case-detail", args=[case.number])).json()
    assert body["attachments"][0]["download_url"] is None and body["attachments"][0]["purged_at"]

    client.force_login(supervisor)
    admin_page = client.get(reverse("admin:cases_case_change", args=[case.pk])).content.decode()
    assert "Removed after the retention period" in admin_page
    assert CaseEvent.objects.filter(case=case, data__purged_attachments=[attachment.pk]).exists()


@pytest.mark.django_db(transaction=True)
def test_two_purges_at_once_take_each_attachment_once(customer, plain_flow, days):
    """Two beats (or a beat and a manual run) at once: SKIP LOCKED hands each row to one of them, so
    each attachment is purged and recorded once (on SQLite the write lock serialises them)."""
    from tests.cases.test_concurrency import run_together

    cases = [closed_case(customer, photos=2) for _ in range(10)]
    now = CLOSED + timedelta(days=days + 1)
    results = run_together(
        (lambda: None, lambda _: purge_expired_evidence(now=now, batch_size=3)),
        (lambda: None, lambda _: purge_expired_evidence(now=now, batch_size=3)),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 20
    recorded = [
        pk
        for event in CaseEvent.objects.filter(case__in=cases, data__purged_attachments__isnull=False)
        for pk in event.data["purged_attachments"]
    ]
    assert sorted(recorded) == sorted(Attachment.objects.values_list("pk", flat=True))
    assert not any(stored(a) for a in Attachment.objects.all())
