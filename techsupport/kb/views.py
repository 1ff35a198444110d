"""Customer portal of the knowledge base and downloads (R-SUP-5): the help centre, articles with
"Was this helpful?", software/firmware downloads per product, and the "This answered my question" button
of the articles suggested before a ticket.

Public pages, no login: anyone may read and vote (a visitor votes through their session). Only what is
about the customer needs a login: the products they bought, and their own suggestion records (someone
else's is a 404). Every write goes through `techsupport.kb.services`."""

import os

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from aftersales.common.errors import DomainError
from aftersales.orders.models import Product

from ..models import Article
from . import selectors, services
from .forms import AnsweredForm, HelpSearchForm, VoteForm

POPULAR = 10
PRODUCT_ARTICLES = 20
SAFE_SCHEMES = ("https://", "http://")


@require_GET
def help_centre(request):
    """Search (`q`), kinds and products, the customer's bought products first; with no query, the
    articles of the chosen kind or product, else the most read."""
    products = list(selectors.products_with_help())
    form = HelpSearchForm(request.GET, products=products)
    query, kind, product = form.value("q") or "", form.value("kind") or "", form.value("product")
    if query:
        articles = list(selectors.search(query, product=product, kind=kind))
        listing = "search"
    elif kind or product:
        articles = list(selectors.browse(kind=kind, product=product))
        listing = "browse"
    else:
        articles = list(selectors.browse(limit=POPULAR))
        listing = "popular"
    mine, others = selectors.yours_first(products, request.user)
    context = {
        "form": form,
        "query": query,
        "kind": kind,
        "product": product,
        "articles": articles,
        "listing": listing,
        "kinds": selectors.kind_counts(),
        "my_products": mine,
        "other_products": others,
        "product_has_releases": product is not None and selectors.releases_for(product).exists(),
    }
    return render(request, "techsupport/kb/help.html", context)


def _voter(request, *, create: bool) -> str:
    """The voter key of the request; a visitor's session is started only when they vote."""
    if request.user.is_authenticated:
        return services.voter_key(user=request.user)
    if not request.session.session_key:
        if not create:
            return ""
        request.session.save()
    return services.voter_key(session_key=request.session.session_key)


@require_GET
def article(request, slug):
    article = selectors.article_by_slug(slug)
    if article is None:
        raise Http404
    services.record_view(article)
    about = list(selectors.article_products(article)[:PRODUCT_ARTICLES])
    context = {
        "article": article,
        "video_url": article.video_url if article.video_url.lower().startswith(SAFE_SCHEMES) else "",
        "about": about,
        "bought": selectors.bought_products_for(article, request.user) if request.user.is_authenticated else [],
        "with_releases": set(
            selectors.published_releases().filter(product__in=about).values_list("product_id", flat=True)
        ),
        "my_vote": selectors.vote_of(article, _voter(request, create=False)),
    }
    return render(request, "techsupport/kb/article.html", context)


@require_POST
def vote(request, slug):
    """ "Was this helpful?" Yes / No; anyone, once per article (a changed answer replaces the first)."""
    article = selectors.article_by_slug(slug)
    if article is None:
        raise Http404
    form = VoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose Yes or No."))
        return redirect("kb:article", slug=article.slug)
    try:
        services.vote(article=article, voter_key=_voter(request, create=True), helpful=form.cleaned_data["helpful"])
    except DomainError as error:
        messages.error(request, error.text)
    else:
        messages.success(request, _("Thank you for your feedback."))
    return redirect("kb:article", slug=article.slug)


@login_required
@require_POST
def answered(request, pk):
    """ "This answered my question" under the articles suggested before a ticket: no ticket needed."""
    deflection = get_object_or_404(selectors.deflections_of(request.user), pk=pk)
    form = AnsweredForm(request.POST)
    article_id = form.cleaned_data["article"] if form.is_valid() else None
    helped_by = Article.objects.filter(pk=article_id).first() if article_id else None
    try:
        services.resolved_without_ticket(deflection=deflection, customer=request.user, article=helped_by)
    except DomainError as error:
        messages.error(request, error.text)
    else:
        messages.success(request, _("We are glad that answered your question. Thank you for letting us know!"))
    return redirect("kb:help")


@require_GET
def downloads(request):
    """Products with software/firmware to download, the customer's bought products first."""
    mine, others = selectors.yours_first(selectors.products_with_releases(), request.user)
    return render(request, "techsupport/kb/downloads.html", {"my_products": mine, "other_products": others})


@require_GET
def product_downloads(request, product_id):
    product = get_object_or_404(Product, pk=product_id)
    context = {
        "product": product,
        "releases": list(selectors.releases_for(product)),
        "articles": list(selectors.browse(product=product, limit=PRODUCT_ARTICLES)),
    }
    return render(request, "techsupport/kb/product_downloads.html", context)


@require_GET
def release_file(request, pk):
    """The release's file from private storage, as a download; counted. Unpublished: 404."""
    release = selectors.release_for_download(pk)
    if release is None or not release.file:
        raise Http404
    try:
        handle = release.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    services.record_download(release)
    response = FileResponse(handle, as_attachment=True, filename=os.path.basename(release.file.name))
    response["X-Content-Type-Options"] = "nosniff"
    return response
