"""Evidence retention: the stored files of case attachments (customers' photos, inspection reports,
repair photos) are deleted EVIDENCE_RETENTION_DAYS after their case closed. The Attachment row stays,
with its name, size and SHA-256, marked `purged_at`, and the case's timeline records how many files
went, so the audit trail outlives the files.

A file is kept while anything may still need it: its case is open (a warranty claim under appeal is
open), closed more recently than the period, or has a refund that is not finished; and a file shared
with another case (`share_attachments` names one stored file from several rows) is kept until every
row naming it may go."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import ngettext

from aftersales.finance.models import Refund

from .models import Attachment, Case, CaseEvent

# A refund in one of these states is not finished: the case's evidence may still be needed.
REFUND_UNFINISHED = [
    Refund.State.PENDING_APPROVAL,
    Refund.State.APPROVED,
    Refund.State.PROCESSING,
    Refund.State.FAILED,
    Refund.State.HELD,
]


def _holding_cases(cutoff: datetime) -> QuerySet[Case]:
    """Cases whose evidence must stay."""
    return Case.objects.filter(
        Q(closed_at__isnull=True) | Q(closed_at__gt=cutoff) | Q(refunds__state__in=REFUND_UNFINISHED)
    )


def expired_attachments(*, now: datetime | None = None) -> QuerySet[Attachment]:
    """Attachments whose file may be deleted now (none when retention is switched off with 0)."""
    if settings.EVIDENCE_RETENTION_DAYS <= 0:
        return Attachment.objects.none()
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVIDENCE_RETENTION_DAYS)
    held_files = Attachment.objects.filter(case__in=_holding_cases(cutoff)).values("file")
    return (
        Attachment.objects.filter(purged_at__isnull=True, case__closed_at__lte=cutoff)
        .exclude(case__refunds__state__in=REFUND_UNFINISHED)
        .exclude(file__in=held_files)
    )


def purge_expired_evidence(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Delete the files of expired attachments in batches (one transaction each) and mark their rows;
    returns how many rows were marked. Safe to run twice at once (rows are taken with SKIP LOCKED) and
    to repeat after a crash: the files are deleted before the batch commits, so a batch that rolls back
    leaves rows whose files are already gone, which the next run marks (deleting a missing file is a
    no-op); a crash never leaves a marked row whose file is still stored."""
    now = now or timezone.now()
    batch_size = batch_size or settings.EVIDENCE_PURGE_BATCH_SIZE
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                expired_attachments(now=now)
                .order_by("pk")
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return total
            batch = list(Attachment.objects.filter(pk__in=ids).order_by("pk").values_list("pk", "case_id", "file"))
            Attachment.objects.filter(pk__in=ids).update(purged_at=now)
            per_case: dict[int, list[int]] = {}
            for pk, case_id, _name in batch:
                per_case.setdefault(case_id, []).append(pk)
            CaseEvent.objects.bulk_create(
                CaseEvent(
                    case_id=case_id,
                    at=now,
                    type=CaseEvent.Type.ATTACHMENT,
                    note=ngettext(
                        "%(n)d file removed after the retention period.",
                        "%(n)d files removed after the retention period.",
                        len(pks),
                    )
                    % {"n": len(pks)},
                    data={
                        "purged_attachments": pks,
                        "retention_days": settings.EVIDENCE_RETENTION_DAYS,
                    },
                    public=False,
                )
                for case_id, pks in per_case.items()
            )
            storage = Attachment.file.field.storage
            for name in {name for _pk, _case_id, name in batch if name}:
                storage.delete(name)
        total += len(ids)
