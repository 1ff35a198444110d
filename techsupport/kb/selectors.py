"""Reads of the knowledge base and downloads (R-SUP-5), shared by the portal, the API and the dashboard.

Search. On PostgreSQL an article matches by full-text search over a weighted vector (title A, summary B,
text C) with the 'simple' configuration: no stemming, no stop words, so a Chinese token matches as typed,
and each word also matches as a prefix ("firm" finds "firmware"). PostgreSQL has no Chinese parser (a
run of Chinese characters is one token), so a query word written in CJK characters also matches as a
substring (icontains). Elsewhere (SQLite in development and tests) every word is a substring match. The
vector is built the same way as the GIN index of migration 0002, so PostgreSQL can use it.

Ranking: articles linked to the given product, or to its category (or a parent category), come first;
then title hits (the number of query words in the title), then PostgreSQL's weighted rank; then title."""

import functools
import operator
import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Case, Count, F, FloatField, IntegerField, Max, Q, QuerySet, Value, When

from aftersales.orders.models import Category, Product

from ..models import Article, ArticleVote, Deflection, Release

SEARCH_CONFIG = "simple"
SEARCH_LIMIT = 20
SUGGEST_LIMIT = 5
QUERY_MAX = 200  # characters of a query that are read
TERMS_MAX = 10  # words of a query that are used
TERM_MAX = 50  # characters of one word
CATEGORY_DEPTH_MAX = 10

# Chinese, Japanese and Korean scripts: no spaces between words, so no word tokens either.
_CJK = "\u2e80-\u2fdf\u3040-\u30ff\u3100-\u31bf\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script
_PIECE = re.compile(f"[{_CJK}]+|[^{_CJK}]+")

# Words too common to say anything about a question (suggestions only; a search uses every word).
_STOP_TEXT = (
    "a an and are as at be but by can cannot could do does doing done for from get got had has have how i if in "
    "into is it its me my no not of on or our please so that the their there this to too up us was we what when "
    "where which while who why will with would you your "
    # Chinese question words: "how", "what", "why", "can", "please" …
    "如何 怎么 怎样 怎麽 什么 为什么 为何 请问 可以 能否 是否 我的 你们 一下 这个 那个"
)
_STOP_WORDS = frozenset(_STOP_TEXT.split())


_SUFFIXES = ("ing", "ed", "es", "s")
STEM_MIN = 4


def stem(word: str) -> str:
    """A light English stem: words match as prefixes (PostgreSQL) or substrings, so "flickers",
    "charging" and "updated" should find "flicker", "charger" and "update"."""
    if word.isascii() and not word.endswith("ss"):
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= STEM_MIN:
                return word[: -len(suffix)]
    return word


def has_cjk(text: str) -> bool:
    return bool(_CJK_RUN.search(text or ""))


@dataclass(frozen=True)
class Terms:
    """A query cut into words: `words` (letters and digits, lower case) and `cjk` (runs of CJK script)."""

    words: tuple[str, ...] = ()
    cjk: tuple[str, ...] = ()

    def __bool__(self):
        return bool(self.words or self.cjk)

    @property
    def all(self) -> tuple[str, ...]:
        return self.words + self.cjk


def parse_terms(text: str, *, loose: bool = False) -> Terms:
    """The words of `text`, in order, without repeats, lightly stemmed (`stem`).

    `loose` (for suggestions from a question being typed): common question words ("how", "what", 如何,
    怎么 …) are dropped, and a CJK run is cut into overlapping pairs ("杜比视界" → 杜比, 比视, 视界),
    since Chinese words are mostly two characters and a question is worded differently from the article
    that answers it."""
    words: list[str] = []
    cjk: list[str] = []
    for match in _WORD.finditer((text or "")[:QUERY_MAX]):
        for piece in _PIECE.findall(match.group()):
            if _CJK_RUN.fullmatch(piece):
                if not loose:
                    cjk.append(piece)
                else:
                    cjk += [pair for i in range(len(piece) - 1) if (pair := piece[i : i + 2]) not in _STOP_WORDS]
            else:
                word = piece.lower()[:TERM_MAX]
                if loose and (word in _STOP_WORDS or len(word) < 2):
                    continue
                words.append(stem(word))
    words, cjk = list(dict.fromkeys(words)), list(dict.fromkeys(cjk))
    if loose and not words and not cjk:
        return parse_terms(text)  # a question of stop words only: use them after all
    return Terms(tuple(words[:TERMS_MAX]), tuple(cjk[: max(TERMS_MAX - len(words), 0)]))


# --- Articles -----------------------------------------------------------------------------------------


def published_articles() -> QuerySet[Article]:
    return Article.objects.filter(published=True)


def article_by_slug(slug: str) -> Article | None:
    return published_articles().prefetch_related("products", "categories").filter(slug=slug).first()


def category_chain(category_id: int | None) -> list[int]:
    """The category and its parents, nearest first (a loop in the tree stops the walk)."""
    chain: list[int] = []
    while category_id is not None and category_id not in chain and len(chain) < CATEGORY_DEPTH_MAX:
        chain.append(category_id)
        category_id = Category.objects.filter(pk=category_id).values_list("parent_id", flat=True).first()
    return chain


def _linked(product: Product | None, category: Category | None) -> Q | None:
    """Articles linked to the product, to its category (or a parent), or to the category given."""
    categories: list[int] = []
    if product is not None:
        categories += category_chain(product.category_id)
    if category is not None:
        categories += category_chain(category.pk)
    condition = Q()
    if product is not None:
        condition |= Q(pk__in=Article.products.through.objects.filter(product_id=product.pk).values("article_id"))
    if categories:
        condition |= Q(
            pk__in=Article.categories.through.objects.filter(category_id__in=categories).values("article_id")
        )
    return condition or None


def articles_for(*, product: Product | None = None, category: Category | None = None) -> QuerySet[Article]:
    """Published articles linked to the product (or its categories) or to the category."""
    condition = _linked(product, category)
    qs = published_articles()
    return qs.filter(condition) if condition is not None else qs.none()


def browse(
    *, kind: str = "", product: Product | None = None, language: str = "", limit: int | None = None
) -> QuerySet[Article]:
    """Published articles without a query: of a kind, for a product, in a language (or for every
    language); the most read first."""
    qs = articles_for(product=product) if product is not None else published_articles()
    if kind:
        qs = qs.filter(kind=kind)
    if language:
        qs = qs.filter(language__in=(language, ""))
    qs = qs.order_by("-views", "title", "pk")
    return qs[:limit] if limit else qs


def _vector():
    """The weighted document; keep it equal to the index expression of migration 0002."""
    return (
        SearchVector("title", weight="A", config=SEARCH_CONFIG)
        + SearchVector("summary", weight="B", config=SEARCH_CONFIG)
        + SearchVector("body", weight="C", config=SEARCH_CONFIG)
    )


def _tsquery(term: str) -> SearchQuery:
    """One word as a prefix query. Words are letters and digits only, so quoting them is safe."""
    return SearchQuery(f"'{term}':*", search_type="raw", config=SEARCH_CONFIG)


def _combined(terms, *, every_term: bool) -> SearchQuery:
    return functools.reduce(operator.and_ if every_term else operator.or_, (_tsquery(term) for term in terms))


def _contains(term: str) -> Q:
    return Q(title__icontains=term) | Q(summary__icontains=term) | Q(body__icontains=term)


def _ranked(terms: Terms, *, every_term: bool, product=None, category=None, kind="", language="") -> QuerySet:
    """Published articles matching every term (`every_term`) or any, with `linked`, `hits` (terms
    matched), `title_hits` and `rank` annotated and ordered by them."""
    qs = published_articles()
    if kind:
        qs = qs.filter(kind=kind)
    if language:
        qs = qs.filter(language__in=(language, ""))
    postgres = connection.vendor == "postgresql"
    if postgres:
        qs = qs.alias(kb_document=_vector())
    # One condition per term, to count how many an article matches; the filter itself asks the
    # document once (every word, or any) so PostgreSQL answers it from the index.
    conditions: list[Q] = []
    for term in terms.words:
        conditions.append(Q(kb_document=_tsquery(term)) if postgres else _contains(term))
    for term in terms.cjk:
        # A Chinese token matches through the index when it stands alone; within a longer run only as text.
        conditions.append((Q(kb_document=_tsquery(term)) | _contains(term)) if postgres else _contains(term))
    if postgres and terms.words:
        words = _combined(terms.words, every_term=every_term)
        cjk = [Q(kb_document=_tsquery(term)) | _contains(term) for term in terms.cjk]
        if every_term:
            qs = qs.filter(Q(kb_document=words), *cjk)
        else:
            qs = qs.filter(functools.reduce(operator.or_, cjk, Q(kb_document=words)))
    else:
        qs = qs.filter(functools.reduce(operator.and_ if every_term else operator.or_, conditions))

    def count(matches):
        total = Value(0)
        for condition in matches:
            total = total + Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())
        return total

    linked = _linked(product, category)
    qs = qs.annotate(
        linked=Case(When(linked, then=Value(1)), default=Value(0), output_field=IntegerField())
        if linked is not None
        else Value(0, output_field=IntegerField()),
        title_hits=count(Q(title__icontains=term) for term in terms.all),
    )
    order = ["-linked"]
    if not every_term:
        qs = qs.annotate(hits=count(conditions))
        order.append("-hits")
    order.append("-title_hits")
    if postgres:
        qs = qs.annotate(rank=SearchRank(F("kb_document"), _combined(terms.all, every_term=False)))
    else:
        qs = qs.annotate(rank=Value(0.0, output_field=FloatField()))
    return qs.order_by(*order, "-rank", "-views", "title", "pk")


def search(
    query: str,
    *,
    product: Product | None = None,
    category: Category | None = None,
    language: str = "",
    kind: str = "",
    limit: int = SEARCH_LIMIT,
) -> QuerySet[Article]:
    """Published articles matching every word of `query`, best first (see the module's docstring);
    `language` keeps articles in that language and those for every language. No words, no results."""
    terms = parse_terms(query)
    if not terms:
        return published_articles().none()
    return _ranked(terms, every_term=True, product=product, category=category, kind=kind, language=language or "")[
        :limit
    ]


def suggest(
    text: str, product: Product | None = None, *, language: str = "", limit: int = SUGGEST_LIMIT
) -> list[Article]:
    """Up to five articles for the question a customer is typing before they open a ticket: any word
    may match (common words left out, Chinese cut into pairs); articles for the product first, then
    those matching the most words."""
    terms = parse_terms(text, loose=True)
    if not terms:
        return []
    return list(_ranked(terms, every_term=False, product=product, language=language or "")[:limit])


def kind_counts() -> list[tuple[str, str, int]]:
    """(kind, label, number of published articles) for every kind, in the order of the choices."""
    counts = {row["kind"]: row["n"] for row in published_articles().values("kind").annotate(n=Count("pk"))}
    return [(value, label, counts.get(value, 0)) for value, label in Article.Kind.choices]


# --- Products ---------------------------------------------------------------------------------------


def bought_products(user) -> QuerySet[Product]:
    """The products of the customer's orders that were not cancelled, the latest bought first."""
    if not getattr(user, "is_authenticated", False):
        return Product.objects.none()
    return (
        Product.objects.filter(order_lines__order__customer=user, order_lines__order__cancelled_at__isnull=True)
        .annotate(last_bought=Max("order_lines__order__placed_at"))
        .order_by("-last_bought", "name", "pk")
    )


def products_with_help() -> QuerySet[Product]:
    """Products that have a published article (their own or their category's) or a published release."""
    articles = published_articles().values("pk")
    categories = Article.categories.through.objects.filter(article_id__in=articles).values("category_id")
    subcategories = Category.objects.filter(parent_id__in=categories).values("pk")  # one level down
    return Product.objects.filter(
        Q(pk__in=Article.products.through.objects.filter(article_id__in=articles).values("product_id"))
        | Q(category_id__in=categories)
        | Q(category_id__in=subcategories)
        | Q(pk__in=Release.objects.filter(published=True).values("product_id"))
    ).order_by("name", "pk")


def products_with_releases() -> QuerySet[Product]:
    return Product.objects.filter(pk__in=published_releases().values("product_id")).order_by("name", "pk")


def yours_first(products, user) -> tuple[list[Product], list[Product]]:
    """`products` split into (those the customer bought, latest first; the others, by name)."""
    products = list(products)
    bought_ids = list(bought_products(user).values_list("pk", flat=True)) if products else []
    by_id = {p.pk: p for p in products}
    mine = [by_id[pk] for pk in dict.fromkeys(bought_ids) if pk in by_id]
    mine_ids = {p.pk for p in mine}
    return mine, [p for p in products if p.pk not in mine_ids]


# --- Releases ---------------------------------------------------------------------------------------


def published_releases() -> QuerySet[Release]:
    return Release.objects.filter(published=True).select_related("product")


def releases_for(product: Product) -> QuerySet[Release]:
    """The product's published releases, newest first."""
    return published_releases().filter(product=product).order_by("-released_at", "-pk")


def release_for_download(pk: int) -> Release | None:
    return published_releases().filter(pk=pk).first()


# --- Deflection --------------------------------------------------------------------------------------


def deflections_of(user) -> QuerySet[Deflection]:
    """The customer's own suggestion records; anyone else's are not found."""
    if not getattr(user, "is_authenticated", False):
        return Deflection.objects.none()
    return Deflection.objects.filter(customer=user)


@dataclass(frozen=True)
class DeflectionRate:
    shown: int  # suggestions shown, nothing came of it (yet)
    resolved: int  # answered by an article, no ticket
    ticket: int  # a ticket opened after all

    @property
    def decided(self) -> int:
        return self.resolved + self.ticket

    @property
    def total(self) -> int:
        return self.shown + self.decided

    @property
    def rate(self) -> float | None:
        """resolved ÷ (resolved + ticket); None before any outcome."""
        return self.resolved / self.decided if self.decided else None

    @property
    def percent(self) -> float | None:
        return round(self.rate * 100, 1) if self.rate is not None else None


def deflection_rate(start: datetime, end: datetime) -> DeflectionRate:
    """Suggestions shown in [start, end) and what came of them."""
    counts = dict(
        Deflection.objects.filter(at__gte=start, at__lt=end)
        .values("outcome")
        .annotate(n=Count("pk"))
        .values_list("outcome", "n")
    )
    return DeflectionRate(
        shown=counts.get(Deflection.Outcome.SHOWN, 0),
        resolved=counts.get(Deflection.Outcome.RESOLVED, 0),
        ticket=counts.get(Deflection.Outcome.TICKET, 0),
    )


# --- An article's products and votes --------------------------------------------------------------------


def article_products(article: Article) -> QuerySet[Product]:
    """The products an article is about: linked to it, or in a category linked to it (or a subcategory)."""
    links = Article.categories.through.objects.filter(article_id=article.pk)
    categories = list(links.values_list("category_id", flat=True))
    if categories:
        categories += list(Category.objects.filter(parent_id__in=categories).values_list("pk", flat=True))
    return Product.objects.filter(
        Q(pk__in=Article.products.through.objects.filter(article_id=article.pk).values("product_id"))
        | Q(category_id__in=categories)
    ).order_by("name", "pk")


def bought_products_for(article: Article, user) -> list[Product]:
    """Which of the products the customer bought the article is about, latest bought first."""
    about = article_products(article).values("pk")
    return list(bought_products(user).filter(pk__in=about))


def vote_of(article: Article, voter: str) -> bool | None:
    """The voter's answer to "Was this helpful?", or None before they vote."""
    if not voter:
        return None
    return ArticleVote.objects.filter(article=article, voter=voter).values_list("helpful", flat=True).first()
