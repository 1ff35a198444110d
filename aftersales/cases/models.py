"""The spine every after-sales matter hangs on: a Case, its timeline, files, notices and rating.

A Case's status changes only through `aftersales.cases.services.transition` (compare-and-set), and
its `deadline_at` / `deadline_action` say what the deadline sweeper will do and when.
"""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _


class CaseKind(models.TextChoices):
    RETURN = "return", _("Return & refund")
    EXCHANGE = "exchange", _("Exchange")
    REISSUE = "reissue", _("Reissue")
    REFUND_ONLY = "refund_only", _("Refund only")
    WARRANTY = "warranty", _("Warranty claim")
    PRICE_PROTECTION = "price_protection", _("Price protection")
    TICKET = "ticket", _("Support ticket")


# Human case numbers: RMA-20261123-000042.
NUMBER_PREFIX = {
    CaseKind.RETURN: "RMA",
    CaseKind.EXCHANGE: "RMA",
    CaseKind.REISSUE: "RMA",
    CaseKind.REFUND_ONLY: "RMA",
    CaseKind.WARRANTY: "WAR",
    CaseKind.PRICE_PROTECTION: "PP",
    CaseKind.TICKET: "TKT",
}


class NumberSequence(models.Model):
    """One counter per case-number prefix, bumped with an UPDATE so concurrent openers never share."""

    prefix = models.CharField(max_length=8, primary_key=True)
    last = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.prefix}: {self.last}"


class Case(models.Model):
    number = models.CharField(_("number"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=CaseKind.choices)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="cases", verbose_name=_("customer")
    )
    order = models.ForeignKey(
        "orders.Order", models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("order")
    )
    status = models.CharField(_("status"), max_length=32, db_index=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_cases",
        verbose_name=_("assignee"),
    )
    opened_at = models.DateTimeField(_("opened"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    deadline_at = models.DateTimeField(_("next deadline"), null=True, blank=True)
    deadline_action = models.CharField(_("at the deadline"), max_length=32, blank=True)
    # Bumped by every transition; lets a form detect it was rendered from an older state.
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-opened_at"]
        indexes = [
            # The sweeper's scan: only rows that have a deadline are in the index.
            models.Index(
                fields=["deadline_at", "id"], condition=Q(deadline_at__isnull=False), name="cases_due_deadline"
            ),
            models.Index(fields=["customer", "-opened_at"], name="cases_customer_recent"),
            # The queues (bench/explain.py): by kind and status, newest first (`kind` alone is its first
            # column); all cases newest first. The open-first order of the returns queue and the repair
            # board has a PostgreSQL-only index, made in migration 0007_queue_indexes.
            models.Index(fields=["kind", "status", "-opened_at"], name="cases_kind_status_recent"),
            models.Index(fields=["-opened_at", "-id"], name="cases_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(deadline_at__isnull=True) | ~Q(deadline_action=""),
                name="cases_deadline_has_action",
            ),
        ]

    def __str__(self):
        return self.number

    def get_status_display(self):
        from .workflow import status_label

        return status_label(self.kind, self.status)

    def get_deadline_action_display(self):
        from .workflow import deadline_action_label

        return deadline_action_label(self.kind, self.deadline_action)


class CaseEvent(models.Model):
    """One line of a case's timeline: who did what and when. Append-only."""

    class Type(models.TextChoices):
        OPENED = "opened", _("Opened")
        TRANSITION = "transition", _("Status change")
        DEADLINE = "deadline", _("Deadline reached")
        NOTE = "note", _("Note")
        ATTACHMENT = "attachment", _("Attachment")
        FEEDBACK = "feedback", _("Feedback")

    # Indexed by (case, at) below, which also serves the foreign key: the sweeper writes events in
    # bulk, so every index counts.
    case = models.ForeignKey(Case, models.CASCADE, related_name="events", verbose_name=_("case"), db_index=False)
    at = models.DateTimeField(_("at"))
    type = models.CharField(_("type"), max_length=16, choices=Type.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    from_status = models.CharField(_("from"), max_length=32, blank=True)
    to_status = models.CharField(_("to"), max_length=32, blank=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    # Internal notes and system bookkeeping stay off the customer's timeline.
    public = models.BooleanField(_("shown to the customer"), default=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["case", "at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="cases_event_timeline")]

    def __str__(self):
        return f"{self.case.number} {self.type} {self.at:%Y-%m-%d %H:%M}"

    @property
    def from_status_label(self) -> str:
        from .workflow import status_label

        return status_label(self.case.kind, self.from_status) if self.from_status else ""

    @property
    def to_status_label(self) -> str:
        from .workflow import status_label

        return status_label(self.case.kind, self.to_status) if self.to_status else ""

    @property
    def actor_label(self) -> str:
        return str(self.actor) if self.actor_id else str(_("System"))


@deconstructible(path="aftersales.cases.models.PrivateStorage")
class PrivateStorage(FileSystemStorage):
    """Files outside any public URL; the attachment view streams them after an access check. The
    directory is read from PRIVATE_MEDIA_ROOT when used, so migrations never record this machine's path."""

    def __init__(self):
        super().__init__(base_url=None)

    @property
    def base_location(self):
        return settings.PRIVATE_MEDIA_ROOT

    @property
    def location(self):
        return os.path.abspath(self.base_location)


private_storage = PrivateStorage()


def attachment_path(instance, filename):
    return f"cases/{instance.case_id}/{filename}"


class Attachment(models.Model):
    """An image a customer or staff member added to a case, verified and re-encoded on upload."""

    case = models.ForeignKey(Case, models.CASCADE, related_name="attachments", verbose_name=_("case"))
    file = models.FileField(_("file"), storage=private_storage, upload_to=attachment_path, max_length=255)
    original_name = models.CharField(_("original name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    # The stored file was deleted after the evidence retention period (EVIDENCE_RETENTION_DAYS); the
    # row, its name and SHA-256 stay for the audit trail.
    purged_at = models.DateTimeField(_("file removed"), null=True, blank=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["case", "uploaded_at"]

    def __str__(self):
        return self.original_name


class Notification(models.Model):
    """A message to one user about one case: shown in the portal, e-mailed after commit."""

    # (user, read_at) below serves the foreign key too.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="notifications", db_index=False)
    case = models.ForeignKey(Case, models.CASCADE, null=True, blank=True, related_name="notifications")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "read_at"], name="cases_notification_unread"),
            # The few not e-mailed yet, for the sweeper that sends those whose task was lost.
            models.Index(
                fields=["created_at"], condition=models.Q(emailed_at__isnull=True), name="cases_notification_unsent"
            ),
        ]

    def __str__(self):
        return self.title


class FeedbackReason(models.TextChoices):
    """R-FB-1: what mattered most to the customer's rating (the insight page ranks the lowest)."""

    SPEED = "speed", _("How fast it went")
    OUTCOME = "outcome", _("Whether my problem was solved")
    STAFF = "staff", _("How staff treated me")
    POLICY = "policy", _("The rules or the decision")
    PRODUCT = "product", _("The product itself")
    OTHER = "other", _("Something else")


class Feedback(models.Model):
    """R-FB-1: one rating (1–5), reason and comment per closed case, by its customer."""

    case = models.OneToOneField(Case, models.CASCADE, related_name="feedback", verbose_name=_("case"))
    rating = models.PositiveSmallIntegerField(_("rating"))
    reason = models.CharField(_("what mattered most"), max_length=16, choices=FeedbackReason.choices, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        constraints = [
            models.CheckConstraint(condition=Q(rating__gte=1) & Q(rating__lte=5), name="cases_feedback_rating_1_to_5")
        ]
        indexes = [models.Index(fields=["created_at"], name="cases_feedback_recent")]

    def __str__(self):
        return f"{self.case.number}: {self.rating}/5"


class FollowUp(models.Model):
    """R-FB-1: after-care on a case: a task for a supervisor (a low rating on a case that cannot
    reopen) or a follow-up call an agent logs (回访). Done when its outcome is written."""

    class Kind(models.TextChoices):
        TASK = "task", _("Supervisor follow-up")
        CALL = "call", _("Follow-up call")

    case = models.ForeignKey(Case, models.CASCADE, related_name="follow_ups", verbose_name=_("case"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    feedback = models.ForeignKey(
        Feedback, models.SET_NULL, null=True, blank=True, related_name="follow_ups", verbose_name=_("rating")
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("assignee")
    )
    reason = models.TextField(_("why"), blank=True)
    created_at = models.DateTimeField(_("created"))
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("done by")
    )
    outcome = models.TextField(_("outcome"), blank=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["done_at", "due_at", "created_at"]
        indexes = [models.Index(fields=["done_at", "due_at"], name="cases_followup_open")]
        constraints = [
            models.CheckConstraint(
                condition=Q(done_at__isnull=True) | ~Q(outcome=""), name="cases_followup_done_has_outcome"
            )
        ]

    def __str__(self):
        return f"{self.case.number}: {self.get_kind_display()}"


class BusinessDay(models.Model):
    """The shop's calendar: one row per date that is known (seeded from chinesecalendar, editable by
    staff). Dates with no row fall back to Monday–Friday and are reported as missing."""

    class Source(models.TextChoices):
        CHINESE_CALENDAR = "chinesecalendar", _("chinesecalendar")
        STAFF = "staff", _("Edited by staff")

    date = models.DateField(_("date"), primary_key=True)
    is_working = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=64, blank=True, help_text=_("Holiday or make-up day name."))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.STAFF)

    class Meta:
        verbose_name = _("business-calendar day")
        verbose_name_plural = _("business calendar")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {'working' if self.is_working else 'off'}"
