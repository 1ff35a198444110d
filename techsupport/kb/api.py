"""The knowledge base and downloads over the API (R-SUP-5). Thin: parse → call a selector or service →
render.

- articles: search and read (public), "Was this helpful?" (signed in);
- suggest: the articles for a question a customer is typing before they open a ticket; the suggestion
  is recorded (a deflection) so "this answered my question" can close it without a ticket;
- releases: software/firmware per product (public), with size, SHA-256 and the download link.

Bad input is a 400 with the field's messages; an unknown or unpublished article, or another customer's
deflection, is a 404."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.common.api import ID_MAX, valid
from aftersales.common.errors import ValidationFailed
from aftersales.orders.models import Product

from ..models import Article
from . import selectors, services

SEARCH_LIMIT = 50


def _product(pk) -> Product | None:
    if pk is None:
        return None
    product = Product.objects.filter(pk=pk).first()
    if product is None:
        raise ValidationFailed(fields={"product": [_("No product with this id.")]})
    return product


def _article(slug: str) -> Article:
    article = selectors.article_by_slug(slug)
    if article is None:
        raise Http404
    return article


# --- What the endpoints render ---------------------------------------------------------------------------


class KbArticleOutput(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    kind = serializers.CharField(help_text="manual, guide (usage guide), care (care guide), faq or video.")
    kind_label = serializers.CharField(source="get_kind_display")
    summary = serializers.CharField()
    language = serializers.CharField(help_text="A language code, or empty: for every language.")
    video_url = serializers.CharField(help_text="A video tutorial's link, or empty.")
    updated_at = serializers.DateTimeField()
    helpful_yes = serializers.IntegerField()
    helpful_no = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text="The article's page in the portal.")

    def get_url(self, article) -> str:
        return reverse("kb:article", args=[article.slug])


class KbArticleDetailOutput(KbArticleOutput):
    body = serializers.CharField(help_text="Plain text; a blank line separates paragraphs.")
    products = serializers.SerializerMethodField(help_text="Ids of the products it is about.")

    def get_products(self, article) -> list[int]:
        return list(selectors.article_products(article).values_list("pk", flat=True))


class KbReleaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    product = serializers.IntegerField(source="product_id")
    sku = serializers.CharField(source="product.sku")
    product_name = serializers.CharField(source="product.name")
    version = serializers.CharField()
    notes = serializers.CharField()
    released_at = serializers.DateTimeField()
    size = serializers.IntegerField(help_text="Bytes.")
    sha256 = serializers.CharField(help_text="Hex SHA-256 of the file: check it before installing.")
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, release) -> str:
        return reverse("kb:release-file", args=[release.pk])


class KbDeflectionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    query = serializers.CharField()
    outcome = serializers.CharField(help_text="shown, resolved (answered without a ticket) or ticket.")
    helped_by = serializers.CharField(source="helped_by.slug", allow_null=True, default=None)


# --- Articles ----------------------------------------------------------------------------------------------


class Articles(generics.ListAPIView):
    """Published knowledge-base articles (public). With `q`: those matching every word, best first
    (articles for `product` first); without: of the kind, for the product, the most read first."""

    permission_classes = [AllowAny]
    serializer_class = KbArticleOutput
    filter_backends: list = []

    class KbArticleQueryInput(serializers.Serializer):
        q = serializers.CharField(max_length=selectors.QUERY_MAX, required=False, allow_blank=True, default="")
        product = serializers.IntegerField(min_value=1, max_value=ID_MAX, required=False, allow_null=True)
        kind = serializers.ChoiceField(choices=Article.Kind.choices, required=False, allow_blank=True, default="")
        language = serializers.ChoiceField(
            choices=Article._meta.get_field("language").choices, required=False, allow_blank=True, default=""
        )

    def get_queryset(self):
        data = valid(self.KbArticleQueryInput, self.request.query_params)
        product = _product(data.get("product"))
        if data["q"].strip():
            return selectors.search(
                data["q"], product=product, kind=data["kind"], language=data["language"], limit=SEARCH_LIMIT
            )
        return selectors.browse(kind=data["kind"], product=product, language=data["language"])

    @extend_schema(parameters=[KbArticleQueryInput])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ArticleDetail(APIView):
    """A published article (public); each reading is counted."""

    permission_classes = [AllowAny]

    @extend_schema(responses=KbArticleDetailOutput)
    def get(self, request, slug):
        article = _article(slug)
        services.record_view(article)
        return Response(KbArticleDetailOutput(article).data)


class Vote(APIView):
    """ "Was this helpful?" (signed in): one vote per article and user; voting again the other way
    moves the vote."""

    class KbVoteInput(serializers.Serializer):
        helpful = serializers.BooleanField()

    class KbVoteOutput(serializers.Serializer):
        helpful = serializers.BooleanField(help_text="Your vote.")
        helpful_yes = serializers.IntegerField()
        helpful_no = serializers.IntegerField()

    @extend_schema(request=KbVoteInput, responses=KbVoteOutput)
    def post(self, request, slug):
        article = _article(slug)
        data = valid(self.KbVoteInput, request.data)
        cast = services.vote(article=article, voter_key=services.voter_key(user=request.user), helpful=data["helpful"])
        article.refresh_from_db(fields=["helpful_yes", "helpful_no"])
        body = {"helpful": cast.helpful, "helpful_yes": article.helpful_yes, "helpful_no": article.helpful_no}
        return Response(self.KbVoteOutput(body).data)


# --- Suggestions before a ticket -------------------------------------------------------------------------------


class Suggest(APIView):
    """Up to five articles for the question the customer is typing (`q`), those for `product` first.
    Each call records what was suggested (the same record while the customer refines the question);
    send its `deflection` id to .../resolved/ when an article answered the question, or with the ticket."""

    class KbSuggestInput(serializers.Serializer):
        q = serializers.CharField(max_length=selectors.QUERY_MAX)
        product = serializers.IntegerField(min_value=1, max_value=ID_MAX, required=False, allow_null=True)

    class KbSuggestOutput(serializers.Serializer):
        deflection = serializers.IntegerField(help_text="The suggestion record's id.")
        articles = KbArticleOutput(many=True)

    @extend_schema(parameters=[KbSuggestInput], responses=KbSuggestOutput)
    def get(self, request):
        data = valid(self.KbSuggestInput, request.query_params)
        articles = selectors.suggest(data["q"], product=_product(data.get("product")))
        deflection = services.suggestions_shown(customer=request.user, query=data["q"], articles=articles)
        return Response(self.KbSuggestOutput({"deflection": deflection.pk, "articles": articles}).data)


class DeflectionResolved(APIView):
    """The question was answered without a ticket (optionally: by which suggested `article`, a slug).
    Another customer's record is a 404; one that already led to a ticket is a 400."""

    class KbResolvedInput(serializers.Serializer):
        article = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    @extend_schema(request=KbResolvedInput, responses=KbDeflectionOutput)
    def post(self, request, pk):
        deflection = get_object_or_404(selectors.deflections_of(request.user), pk=pk)
        data = valid(self.KbResolvedInput, request.data)
        article = None
        if data["article"]:
            article = Article.objects.filter(slug=data["article"]).first()
            if article is None:
                raise ValidationFailed(fields={"article": [_("No article with this slug.")]})
        deflection = services.resolved_without_ticket(deflection=deflection, customer=request.user, article=article)
        return Response(KbDeflectionOutput(deflection).data)


# --- Downloads ---------------------------------------------------------------------------------------------------


class Releases(generics.ListAPIView):
    """Published software/firmware releases (public), newest first; `product` keeps one product's."""

    permission_classes = [AllowAny]
    serializer_class = KbReleaseOutput
    filter_backends: list = []

    class KbReleaseQueryInput(serializers.Serializer):
        product = serializers.IntegerField(min_value=1, max_value=ID_MAX, required=False, allow_null=True)

    def get_queryset(self):
        data = valid(self.KbReleaseQueryInput, self.request.query_params)
        product = _product(data.get("product"))
        if product is not None:
            return selectors.releases_for(product)
        return selectors.published_releases().order_by("-released_at", "-pk")

    @extend_schema(parameters=[KbReleaseQueryInput])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
