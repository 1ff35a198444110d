"""Every write of the knowledge base and downloads (R-SUP-5): votes and views of articles, publishing,
software releases and their downloads, and the record of articles suggested before a ticket.

Counters only ever move by F() expressions in an UPDATE, so concurrent requests never lose a count.
A vote also locks its article row first: two votes of one voter run one after the other, and the
article's helpful / not-helpful counters always equal its votes."""

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.cases.attachments import display_name
from aftersales.common.errors import NotAllowed, ValidationFailed
from aftersales.common.locks import lock_one
from aftersales.orders.models import Product

from ..models import Article, ArticleVote, Deflection, Release

VOTER_MAX = 64
VERSION_MAX = 32
VERSION_PATTERN = re.compile(r"[0-9A-Za-z][0-9A-Za-z._+\-]*")
QUERY_MAX = 200
# A customer refining their question within this time updates the same record, not a new one.
DEFLECTION_REUSE = timedelta(minutes=30)
ADD_RELEASE = "techsupport.add_release"


# --- Articles -------------------------------------------------------------------------------------------


def voter_key(*, user=None, session_key: str | None = None) -> str:
    """Who votes: "u:<id>" for a signed-in user, else "s:<session key>" for a visitor's session."""
    if user is not None and getattr(user, "is_authenticated", False):
        return f"u:{user.pk}"
    if session_key:
        return f"s:{session_key}"
    raise ValidationFailed(fields={"voter": [_("Voting needs a session; allow cookies and try again.")]})


@transaction.atomic
def vote(*, article: Article, voter_key: str, helpful: bool) -> ArticleVote:
    """ "Was this helpful?": one vote per article and voter. Voting again the same way changes nothing;
    voting the other way moves the vote from one counter to the other. Locks the article row."""
    if not voter_key or len(voter_key) > VOTER_MAX:
        raise ValidationFailed(fields={"voter": [_("Not a valid voter.")]})
    helpful = bool(helpful)
    article = lock_one(Article, article.pk)
    if not article.published:
        raise ValidationFailed(_("This article is not published."))
    existing = ArticleVote.objects.filter(article=article, voter=voter_key).first()
    if existing is None:
        try:
            with transaction.atomic():
                cast = ArticleVote.objects.create(article=article, voter=voter_key, helpful=helpful)
        except IntegrityError:  # the unique constraint, should a vote slip past the lock
            raise ValidationFailed(fields={"voter": [_("You have voted already.")]}) from None
        counter = "helpful_yes" if helpful else "helpful_no"
        Article.objects.filter(pk=article.pk).update(**{counter: F(counter) + 1})
        return cast
    if existing.helpful != helpful:
        ArticleVote.objects.filter(pk=existing.pk).update(helpful=helpful, at=timezone.now())
        up, down = ("helpful_yes", "helpful_no") if helpful else ("helpful_no", "helpful_yes")
        Article.objects.filter(pk=article.pk).update(**{up: F(up) + 1, down: F(down) - 1})
        existing.helpful = helpful
    return existing


def record_view(article: Article) -> None:
    """One more reading of the article (the edit time is left alone)."""
    Article.objects.filter(pk=article.pk).update(views=F("views") + 1)


def set_published(*, articles: Iterable[Article], published: bool) -> int:
    """Publish or withdraw articles (the dashboard's actions); returns how many changed."""
    pks = [article.pk for article in articles]
    return (
        Article.objects.filter(pk__in=pks)
        .exclude(published=published)
        .update(published=published, updated_at=timezone.now())
    )


# --- Releases -----------------------------------------------------------------------------------------


def clean_version(version: str) -> str:
    """A release's version: letters, digits, dots, dashes, pluses and underscores (it names a folder)."""
    version = (version or "").strip()
    if not version:
        raise ValidationFailed(fields={"version": [_("Enter the version.")]})
    if len(version) > VERSION_MAX or not VERSION_PATTERN.fullmatch(version):
        raise ValidationFailed(
            fields={
                "version": [
                    _("A version is at most 32 letters, digits, dots, dashes, pluses or underscores, e.g. 2.1.0.")
                ]
            }
        )
    return version


class _Digesting(File):
    """The upload as the storage reads it, chunk by chunk, counting its bytes and hashing them on the
    way: the file is read once and never held whole. No `temporary_file_path`, so the storage copies
    the chunks (and the digest sees them) rather than moving the temporary file."""

    def __init__(self, upload):
        super().__init__(upload, name=upload.name)
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def chunks(self, chunk_size=None):
        for chunk in self.file.chunks(chunk_size) if hasattr(self.file, "chunks") else super().chunks(chunk_size):
            self.sha256.update(chunk)
            self.bytes_read += len(chunk)
            yield chunk


@transaction.atomic
def add_release(
    *,
    product: Product,
    version: str,
    notes: str,
    uploaded_file,
    released_at: datetime,
    actor,
    published: bool = True,
) -> Release:
    """A software/firmware release of `product`: the file is stored in private storage while its size
    and SHA-256 are computed. A version the product has already is refused on the `version` field.
    `actor` needs techsupport.add_release (None: the system, e.g. the demo seed)."""
    if actor is not None and not actor.has_perm(ADD_RELEASE):
        raise NotAllowed()
    version = clean_version(version)
    if uploaded_file is None or not getattr(uploaded_file, "name", ""):
        raise ValidationFailed(fields={"file": [_("Choose the file to publish.")]})
    if released_at is None:
        raise ValidationFailed(fields={"released_at": [_("Enter the release date.")]})
    product = lock_one(Product, product.pk)  # two uploads of one version run one after the other
    duplicate = ValidationFailed(
        fields={"version": [_("This product already has a release %(version)s.") % {"version": version}]}
    )
    if Release.objects.filter(product=product, version=version).exists():
        raise duplicate
    release = Release(
        product=product,
        version=version,
        notes=(notes or "").strip(),
        released_at=released_at,
        published=published,
    )
    field = Release._meta.get_field("file")
    content = _Digesting(uploaded_file)
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    # Only the name's last component, cleaned: a caller handing over "../../x" gets releases/…/x.
    filename = display_name(uploaded_file.name) or "release.bin"
    name = field.storage.save(field.generate_filename(release, filename), content)
    try:
        if content.bytes_read == 0:
            raise ValidationFailed(fields={"file": [_("The file is empty.")]})
        release.file.name = name
        release.size = content.bytes_read
        release.sha256 = content.sha256.hexdigest()
        try:
            with transaction.atomic():
                release.save()
        except IntegrityError:  # the unique constraint: the same version slipped in past the lock
            raise duplicate from None
    except Exception:
        field.storage.delete(name)  # nothing refers to the stored file
        raise
    return release


def record_download(release: Release) -> None:
    Release.objects.filter(pk=release.pk).update(downloads=F("downloads") + 1)


# --- Deflection: articles suggested before a ticket -------------------------------------------------------


def _own(deflection: Deflection, customer) -> Deflection:
    """The deflection locked, if it is the customer's; anyone else's is NotAllowed."""
    if customer is None or not getattr(customer, "is_authenticated", False):
        raise NotAllowed()
    deflection = lock_one(Deflection, deflection.pk)
    if deflection.customer_id != customer.pk:
        raise NotAllowed()
    return deflection


@transaction.atomic
def suggestions_shown(*, customer, query: str, articles: Iterable[Article]) -> Deflection:
    """Record that `articles` were suggested to the customer for `query` before a ticket. A customer
    still refining the question (their latest record, with no outcome yet, from the last half hour)
    updates that record rather than adding one per keystroke."""
    if customer is None or not getattr(customer, "is_authenticated", False):
        raise NotAllowed()
    query = " ".join((query or "").split())[:QUERY_MAX]
    if not query:
        raise ValidationFailed(fields={"q": [_("Describe your question.")]})
    articles = [article for article in articles if article.published]
    recent = (
        Deflection.objects.select_for_update()
        .filter(customer=customer, outcome=Deflection.Outcome.SHOWN, at__gte=timezone.now() - DEFLECTION_REUSE)
        .order_by("-at", "-pk")
        .first()
    )
    if recent is not None:
        Deflection.objects.filter(pk=recent.pk).update(query=query)
        recent.query = query
        deflection = recent
    else:
        deflection = Deflection.objects.create(customer=customer, query=query)
    deflection.articles.set(articles)
    return deflection


@transaction.atomic
def resolved_without_ticket(*, deflection: Deflection, customer, article: Article | None = None) -> Deflection:
    """The customer's question was answered (by `article`, one of those suggested): no ticket needed.
    Saying so twice changes nothing; once a ticket was opened it stays a ticket."""
    deflection = _own(deflection, customer)
    if article is not None and not deflection.articles.filter(pk=article.pk).exists():
        raise ValidationFailed(fields={"article": [_("This article was not among the suggestions.")]})
    if deflection.outcome == Deflection.Outcome.TICKET:
        raise ValidationFailed(_("A ticket was opened for this question already."))
    changes = {"outcome": Deflection.Outcome.RESOLVED}
    if article is not None or deflection.outcome != Deflection.Outcome.RESOLVED:
        changes["helped_by"] = article
    Deflection.objects.filter(pk=deflection.pk).update(**changes)
    deflection.refresh_from_db()
    return deflection


@transaction.atomic
def ticket_opened(*, deflection: Deflection, customer, case) -> Deflection:
    """The customer opened a ticket (`case`, theirs) after seeing the suggestions: not deflected."""
    deflection = _own(deflection, customer)
    if case is None or case.customer_id != customer.pk:
        raise NotAllowed()
    Deflection.objects.filter(pk=deflection.pk).update(outcome=Deflection.Outcome.TICKET, case=case)
    deflection.refresh_from_db()
    return deflection
