"""Technical-support data (DOMAIN §5): tickets (the detail row of a ticket case) with their SLA clock,
the teams that work them, SLA policies, canned replies, the e-mail threads that feed them, and the
knowledge base and downloads customers read before they ask. Statuses live on the Case; decisions
live in `techsupport.policy` and `.services`."""

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.cases.models import private_storage
from aftersales.common.settings_rows import SettingsRow


class Category(models.TextChoices):
    """R-SUP-1: what a ticket is about."""

    USAGE = "usage", _("Usage question")
    FAULT = "fault", _("Technical fault")
    FIRMWARE = "firmware", _("Software/firmware upgrade")
    COMPLAINT = "complaint", _("Complaint")
    OTHER = "other", _("Other")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class Channel(models.TextChoices):
    """Where the customer reached us (R-SUP-1): the portal, or a contact an agent logs."""

    PORTAL = "portal", _("Portal")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")


class Team(models.Model):
    """R-SUP-2: a tier of support. Tier 1 (first line) accepts and triages; tier 2 (technical
    support) takes what is escalated to it. The lead is told of breaches (R-SUP-3)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    tier = models.PositiveSmallIntegerField(_("tier"), validators=[MinValueValidator(1), MaxValueValidator(2)])
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("team lead")
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="support_teams", verbose_name=_("members")
    )

    class Meta:
        verbose_name = _("support team")
        verbose_name_plural = _("support teams")
        ordering = ["tier", "name"]
        constraints = [models.CheckConstraint(condition=Q(tier__in=(1, 2)), name="techsupport_team_tier_1_or_2")]

    def __str__(self):
        return self.name


class SupportSettings(SettingsRow):
    """The shop's support knobs: one row, edited by staff in the dashboard."""

    first_response_minutes = models.PositiveIntegerField(
        _("default first response (business minutes)"),
        default=60,
        help_text=_("R-SUP-3: used when no SLA policy matches a ticket."),
    )
    resolution_minutes = models.PositiveIntegerField(
        _("default resolution (business minutes)"), default=24 * 60, help_text=_("Used when no SLA policy matches.")
    )
    warning_percent = models.PositiveSmallIntegerField(
        _("warn when this share of a target is used (%)"),
        default=80,
        help_text=_("A near-breach: the assignee is told."),
    )
    supervisor_after_minutes = models.PositiveIntegerField(
        _("tell a supervisor this long after a breach (business minutes)"),
        default=60,
        help_text=_("The assignee is warned first, the team lead at the breach, then a supervisor."),
    )
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("supervisor told of breaches"),
        help_text=_("Empty: every active supervisor."),
    )
    remind_after_days = models.PositiveSmallIntegerField(
        _("remind a customer we wait on after (days)"), default=5, help_text=_("R-SUP-6.")
    )
    close_after_days = models.PositiveSmallIntegerField(
        _("close a ticket that waits on the customer after (days)"), default=7, help_text=_("R-SUP-6.")
    )

    class Meta:
        verbose_name = _("support settings")
        verbose_name_plural = _("support settings")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="techsupport_settings_single_row"),
            models.CheckConstraint(
                condition=Q(warning_percent__gte=1) & Q(warning_percent__lte=99),
                name="techsupport_settings_warning_percent_range",
                violation_error_message=_("The warning share is from 1 to 99 percent."),
            ),
            models.CheckConstraint(
                condition=Q(first_response_minutes__gte=1) & Q(resolution_minutes__gte=1),
                name="techsupport_settings_targets_positive",
                violation_error_message=_("Targets are at least one minute."),
            ),
            models.CheckConstraint(
                condition=Q(remind_after_days__gte=1) & Q(close_after_days__gt=models.F("remind_after_days")),
                name="techsupport_settings_remind_before_close",
                violation_error_message=_("The reminder comes at least a day before the ticket closes."),
            ),
        ]

    def __str__(self):
        return str(_("Support settings"))


class SlaPolicy(models.Model):
    """R-SUP-3: targets for tickets matching every condition given (an empty list matches anything).
    Policies are tried by position; the first match wins."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=100, help_text=_("Lower is tried first."))
    active = models.BooleanField(_("active"), default=True)
    categories = models.JSONField(_("categories"), default=list, blank=True)
    priorities = models.JSONField(_("priorities"), default=list, blank=True)
    customer_tiers = models.JSONField(_("customer tiers"), default=list, blank=True)
    first_response_minutes = models.PositiveIntegerField(_("first response (business minutes)"), default=60)
    next_response_minutes = models.PositiveIntegerField(
        _("next response (business minutes)"), null=True, blank=True, help_text=_("Empty: no target.")
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution (business minutes)"), null=True, blank=True, help_text=_("Empty: no target.")
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_response_minutes__gte=1)
                & (Q(next_response_minutes__isnull=True) | Q(next_response_minutes__gte=1))
                & (Q(resolution_minutes__isnull=True) | Q(resolution_minutes__gte=1)),
                name="techsupport_sla_targets_positive",
                violation_error_message=_("Targets are at least one minute."),
            )
        ]

    def __str__(self):
        return self.name


class SlaFlag(models.TextChoices):
    OK = "ok", _("On time")
    WARNING = "warning", _("Near breach")
    BREACHED = "breached", _("Breached")


class Ticket(models.Model):
    """The support side of a ticket case: what it is about, who works it, and its SLA clock.

    The clock (R-SUP-3): `resolution_used` is the business time the resolution target has used in
    earlier runs; while the clock runs, `clock_started_at` is when this run began; while the ticket
    waits on the customer it is None (paused). Due moments are stored so queues sort and filter by
    them; `sla_due_at` is the earliest one that runs."""

    case = models.OneToOneField(
        "cases.Case", models.CASCADE, primary_key=True, related_name="ticket", verbose_name=_("case")
    )
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, default=Channel.PORTAL)
    team = models.ForeignKey(Team, models.PROTECT, related_name="tickets", verbose_name=_("team"))
    product = models.ForeignKey(
        "orders.Product", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    related_case = models.ForeignKey(
        "cases.Case",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="support_tickets",
        verbose_name=_("about case"),
    )
    customer_tier = models.CharField(_("customer tier"), max_length=16, blank=True)
    sla_policy = models.ForeignKey(
        SlaPolicy, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("SLA policy")
    )
    # Targets copied from the policy at opening (and on priority changes): later policy edits do
    # not move the deadlines of tickets already promised.
    first_response_minutes = models.PositiveIntegerField(_("first response target"))
    next_response_minutes = models.PositiveIntegerField(_("next response target"), null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(_("resolution target"), null=True, blank=True)

    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    next_response_due_at = models.DateTimeField(_("next response due"), null=True, blank=True)
    awaiting_reply_since = models.DateTimeField(_("customer waiting for our answer since"), null=True, blank=True)
    response_cycle = models.PositiveIntegerField(default=0, editable=False)  # customer replies awaiting an answer
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    resolution_used = models.DurationField(default=timedelta(0), editable=False)
    clock_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    sla_due_at = models.DateTimeField(_("SLA due"), null=True, blank=True, db_index=True)
    sla_flag = models.CharField(_("SLA"), max_length=8, choices=SlaFlag.choices, default=SlaFlag.OK, db_index=True)
    first_response_breached = models.BooleanField(_("first response breached"), default=False)
    next_response_breached = models.BooleanField(_("a next response breached"), default=False)
    resolution_breached = models.BooleanField(_("resolution breached"), default=False)
    waiting_since = models.DateTimeField(_("waiting on the customer since"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    # Repair, exchange or return cases a technician opened from this ticket (R-SUP-2).
    linked_cases = models.ManyToManyField(
        "cases.Case", blank=True, related_name="opened_from_tickets", verbose_name=_("cases opened from it")
    )

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        permissions = [
            ("work_ticket", _("Can reply to, assign and move tickets")),
            ("escalate_ticket", _("Can escalate tickets to technical support")),
        ]
        indexes = [
            models.Index(fields=["team", "sla_due_at"], name="techsupport_team_queue"),
        ]

    def __str__(self):
        return self.case.number


class SlaAlert(models.Model):
    """One escalation step fired for one target of one ticket (R-SUP-3): unique, so each level
    fires once whatever the sweeper repeats. `cycle` tells next-response rounds apart."""

    class Target(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        NEXT_RESPONSE = "next_response", _("Next response")
        RESOLUTION = "resolution", _("Resolution")

    class Level(models.IntegerChoices):
        WARNING = 1, _("Near breach: assignee told")
        BREACH = 2, _("Breached: team lead told")
        SUPERVISOR = 3, _("Still breached: supervisor told")

    ticket = models.ForeignKey(Ticket, models.CASCADE, related_name="alerts", verbose_name=_("ticket"))
    target = models.CharField(_("target"), max_length=16, choices=Target.choices)
    cycle = models.PositiveIntegerField(_("round"), default=0)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    at = models.DateTimeField(_("at"))
    notified = models.JSONField(_("told"), default=list, blank=True)

    class Meta:
        verbose_name = _("SLA alert")
        verbose_name_plural = _("SLA alerts")
        ordering = ["ticket", "at"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "target", "cycle", "level"], name="techsupport_alert_once")
        ]

    def __str__(self):
        return f"{self.ticket_id} {self.target} {self.level}"


class CannedReply(models.Model):
    """R-SUP-4: a reply agents insert, with placeholders filled from the ticket ({customer}, {number},
    {order}, {product}, {agent}). A macro also moves the ticket on after sending."""

    class Then(models.TextChoices):
        NOTHING = "", _("Nothing else")
        ASK_CUSTOMER = "ask_customer", _("Wait for the customer")
        RESOLVE = "resolve", _("Resolve")

    title = models.CharField(_("title"), max_length=100, unique=True)
    body = models.TextField(_("text"))
    category = models.CharField(_("for category"), max_length=16, choices=Category.choices, blank=True)
    then = models.CharField(_("then"), max_length=16, choices=Then.choices, blank=True, default=Then.NOTHING)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title"]

    def __str__(self):
        return self.title


class MailMessage(models.Model):
    """An e-mail that belongs to a ticket, by its Message-ID: incoming ones so a repeated fetch adds
    nothing twice, outgoing ones so a customer's reply threads back by In-Reply-To / References."""

    class Direction(models.TextChoices):
        IN = "in", _("Received")
        OUT = "out", _("Sent")

    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    case = models.ForeignKey("cases.Case", models.CASCADE, related_name="mail_messages", verbose_name=_("case"))
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    event = models.ForeignKey(
        "cases.CaseEvent", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("timeline entry")
    )
    at = models.DateTimeField(_("at"))
    # Outgoing: the notification it carries and when it left, so a sweep sends the ones whose task
    # never reached the broker (techsupport.mail.outgoing).
    notification = models.ForeignKey(
        "cases.Notification", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("notification")
    )
    automatic = models.BooleanField(_("automatic answer"), default=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail message")
        verbose_name_plural = _("e-mail messages")
        ordering = ["at"]
        indexes = [
            models.Index(
                fields=["at"], condition=models.Q(direction="out", sent_at__isnull=True), name="techsupport_mail_unsent"
            )
        ]

    def __str__(self):
        return self.message_id


class MailIntakeFailure(models.Model):
    """A support-mailbox message the intake could not file, by its Message-ID (or the synthetic one):
    it stays unread in the mailbox and is tried again at the next fetch; after
    SUPPORT_MAIL_MAX_FAILURES tries it is flagged there for a person. Filing it deletes the row."""

    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    failures = models.PositiveIntegerField(_("failed tries"), default=0)
    error = models.TextField(_("last error"), blank=True)
    first_failed_at = models.DateTimeField(_("first failed"))
    last_failed_at = models.DateTimeField(_("last failed"))

    class Meta:
        verbose_name = _("e-mail the intake could not file")
        verbose_name_plural = _("e-mails the intake could not file")
        ordering = ["-last_failed_at"]

    def __str__(self):
        return self.message_id


# --- Knowledge base and downloads (R-SUP-5) ---------------------------------------------------


class Article(models.Model):
    class Kind(models.TextChoices):
        MANUAL = "manual", _("Manual")
        GUIDE = "guide", _("Usage guide")
        CARE = "care", _("Care guide")
        FAQ = "faq", _("FAQ")
        VIDEO = "video", _("Video tutorial")

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200, unique=True, allow_unicode=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body = models.TextField(_("text"), blank=True)
    video_url = models.URLField(_("video link"), blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    products = models.ManyToManyField("orders.Product", blank=True, related_name="+", verbose_name=_("products"))
    categories = models.ManyToManyField(
        "orders.Category", blank=True, related_name="+", verbose_name=_("product categories")
    )
    published = models.BooleanField(_("published"), default=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    helpful_yes = models.PositiveIntegerField(_("helpful"), default=0, editable=False)
    helpful_no = models.PositiveIntegerField(_("not helpful"), default=0, editable=False)
    views = models.PositiveIntegerField(_("views"), default=0, editable=False)

    class Meta:
        verbose_name = _("knowledge-base article")
        verbose_name_plural = _("knowledge base")
        ordering = ["title"]

    def __str__(self):
        return self.title


class ArticleVote(models.Model):
    """ "Was this helpful?": one vote per article and voter (a customer, or a visitor's session)."""

    article = models.ForeignKey(Article, models.CASCADE, related_name="votes", verbose_name=_("article"))
    voter = models.CharField(_("voter"), max_length=64)  # "u:<user id>" or "s:<session key>"
    helpful = models.BooleanField(_("helpful"))
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("article vote")
        verbose_name_plural = _("article votes")
        constraints = [models.UniqueConstraint(fields=["article", "voter"], name="techsupport_one_vote_per_voter")]

    def __str__(self):
        return f"{self.article_id} {self.helpful}"


def release_path(instance, filename):
    return f"releases/{instance.product_id}/{instance.version}/{filename}"


class Release(models.Model):
    """A software/firmware release for a product: version, notes, the file and its SHA-256."""

    product = models.ForeignKey("orders.Product", models.CASCADE, related_name="releases", verbose_name=_("product"))
    version = models.CharField(_("version"), max_length=32)
    notes = models.TextField(_("release notes"), blank=True)
    file = models.FileField(_("file"), storage=private_storage, upload_to=release_path, max_length=255)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0, editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, editable=False)
    released_at = models.DateTimeField(_("released"))
    published = models.BooleanField(_("published"), default=True)
    downloads = models.PositiveIntegerField(_("downloads"), default=0, editable=False)

    class Meta:
        verbose_name = _("software release")
        verbose_name_plural = _("software releases")
        ordering = ["product", "-released_at"]
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="techsupport_release_version_unique")
        ]

    def __str__(self):
        return f"{self.product} {self.version}"


class Deflection(models.Model):
    """Articles suggested to a customer before they submit a ticket, and what came of it: the
    question answered without a ticket (deflected), or a ticket after all."""

    class Outcome(models.TextChoices):
        SHOWN = "shown", _("Suggestions shown")
        RESOLVED = "resolved", _("Answered without a ticket")
        TICKET = "ticket", _("Ticket opened")

    customer = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+", verbose_name=_("customer"))
    query = models.CharField(_("question"), max_length=200)
    articles = models.ManyToManyField(Article, blank=True, related_name="+", verbose_name=_("suggested"))
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices, default=Outcome.SHOWN)
    helped_by = models.ForeignKey(
        Article, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("answered by")
    )
    case = models.ForeignKey(
        "cases.Case", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("ticket")
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("article suggestion")
        verbose_name_plural = _("article suggestions")
        ordering = ["-at"]
        indexes = [models.Index(fields=["outcome", "at"], name="techsupport_deflection_rate")]

    def __str__(self):
        return f"{self.query} → {self.outcome}"
