"""The help centre and downloads in the portal (R-SUP-5): public pages for anyone, the customer's own
products first once signed in, articles as escaped plain text, "Was this helpful?" with CSRF for
visitors and customers alike, and the "This answered my question" button of the suggestions partial."""

import re

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse

from techsupport.kb import selectors, services
from techsupport.models import ArticleVote, Deflection
from tests import factories
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db

HELP = reverse("kb:help")
DOWNLOADS = reverse("kb:downloads")


def article_url(article) -> str:
    return reverse("kb:article", args=[article.slug])


def section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</section>", start)]


def bought(customer, product):
    order = factories.order_with_lines(customer=customer)
    line = order.lines.get()
    line.product = product
    line.save(update_fields=["product"])
    return order


def test_the_urls_are_where_the_portal_links_them():
    assert HELP == "/support/help/" and DOWNLOADS == "/support/downloads/"
    assert reverse("kb:article", args=["如何-重置"]) == "/support/help/%E5%A6%82%E4%BD%95-%E9%87%8D%E7%BD%AE/"
    assert reverse("kb:product-downloads", args=[5]) == "/support/downloads/5/"
    assert reverse("kb:answered", args=[3]) == "/support/help/answered/3/"


def test_anyone_searches_the_help_centre(client):
    ArticleFactory(title="Firmware update guide", summary="Install the latest version")
    ArticleFactory(title="Firmware draft", published=False)
    page = client.get(HELP, {"q": "firmware"})
    assert page.status_code == 200
    results = section(page.text, "results")
    assert "Firmware update guide" in results and "Install the latest version" in results
    assert "Firmware draft" not in results
    assert "No article matches" in client.get(HELP, {"q": "zzzz"}).text


def test_kinds_filter_and_bad_parameters_are_ignored(client):
    ArticleFactory(title="Clean the pot", kind="care")
    ArticleFactory(title="Pair the watch", kind="guide")
    results = section(client.get(HELP, {"kind": "care"}).text, "results")
    assert "Clean the pot" in results and "Pair the watch" not in results
    bad = [{"kind": "nope"}, {"product": "abc"}, {"product": "9" * 30}, {"q": "x" * 500}, {"q": "tv\x00"}]
    for params in bad:
        assert client.get(HELP, params).status_code == 200, params


def test_the_customers_products_come_first_once_signed_in(client, customer):
    mine = factories.ProductFactory(name="Zulu watch")
    other = factories.ProductFactory(name="Alpha TV")
    ArticleFactory(title="Watch guide", products=[mine])
    ArticleFactory(title="TV guide", products=[other])
    bought(customer, mine)
    anonymous = section(client.get(HELP).text, "kb-products")
    assert "Products you bought" not in anonymous
    assert anonymous.index("Alpha TV") < anonymous.index("Zulu watch")  # by name
    client.force_login(customer)
    page = section(client.get(HELP).text, "kb-products")
    assert page.index("Products you bought") < page.index("Zulu watch") < page.index("Other products")
    assert page.index("Other products") < page.index("Alpha TV")


def test_an_article_is_escaped_plain_text_in_paragraphs_and_its_video_is_a_link(client):
    article = ArticleFactory(
        title="Reset <b>now</b>",
        body="First <script>alert(1)</script> step.\nSame paragraph.\n\nSecond paragraph.",
        video_url="https://videos.example.com/reset",
    )
    page = client.get(article_url(article)).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Reset &lt;b&gt;now&lt;/b&gt;" in page
    assert "<p>First &lt;script&gt;alert(1)&lt;/script&gt; step.<br>Same paragraph.</p>" in page
    assert "<p>Second paragraph.</p>" in page
    assert re.search(r'<a href="https://videos\.example\.com/reset"[^>]*>Watch the video tutorial</a>', page)
    article.refresh_from_db()
    assert article.views == 1


def test_a_video_link_that_is_not_http_is_not_shown(client):
    article = ArticleFactory(video_url="javascript:alert(1)")
    assert "javascript:alert" not in client.get(article_url(article)).text


def test_unpublished_or_unknown_articles_are_404(client):
    draft = ArticleFactory(published=False)
    assert client.get(article_url(draft)).status_code == 404
    assert client.get(reverse("kb:article", args=["nope"])).status_code == 404
    assert client.post(reverse("kb:vote", args=[draft.slug]), {"helpful": "yes"}).status_code == 404


def test_the_products_you_bought_part_needs_a_login(client, customer):
    product = factories.ProductFactory(name="Mate phone")
    article = ArticleFactory(products=[product])
    factories.release(product=product)
    bought(customer, product)
    anonymous = client.get(article_url(article)).text
    assert "Products you bought" not in anonymous
    assert f'<a href="{reverse("login")}?next={article_url(article)}">Log in</a> to see which' in anonymous
    assert reverse("kb:product-downloads", args=[product.pk]) in anonymous
    client.force_login(customer)
    page = client.get(article_url(article)).text
    assert re.search(r"Products you bought:\s*<strong>Mate phone</strong>", page)


def test_a_visitor_votes_with_their_session_and_may_change_their_mind():
    client = Client(enforce_csrf_checks=True)
    article = ArticleFactory()
    page = client.get(article_url(article))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    vote_url = reverse("kb:vote", args=[article.slug])
    assert client.post(vote_url, {"helpful": "yes"}).status_code == 403  # no CSRF token
    response = client.post(vote_url, {"helpful": "yes", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == article_url(article)
    client.post(vote_url, {"helpful": "no", "csrfmiddlewaretoken": token})
    vote = ArticleVote.objects.get(article=article)
    assert vote.voter == f"s:{client.session.session_key}" and vote.helpful is False
    article.refresh_from_db()
    assert (article.helpful_yes, article.helpful_no) == (0, 1)
    assert "You found this article not helpful." in client.get(article_url(article)).text


def test_a_customer_votes_as_themselves(client, customer):
    article = ArticleFactory()
    client.force_login(customer)
    response = client.post(reverse("kb:vote", args=[article.slug]), {"helpful": "yes"}, follow=True)
    assert "Thank you for your feedback." in response.text
    assert ArticleVote.objects.get(article=article).voter == f"u:{customer.pk}"
    bad = client.post(reverse("kb:vote", args=[article.slug]), {"helpful": "maybe"}, follow=True)
    assert "Choose Yes or No." in bad.text
    assert ArticleVote.objects.count() == 1


def test_downloads_list_the_products_with_releases_and_each_release_in_full(client, customer):
    mine = factories.ProductFactory(name="Zulu watch")
    other = factories.ProductFactory(name="Alpha TV")
    release = factories.release(product=mine, version="5.0.1", content=b"x" * 2048, notes="Line one\n\nLine <two>")
    factories.release(product=other, version="1.0")
    factories.release(product=factories.ProductFactory(name="Hidden"), published=False)
    bought(customer, mine)
    listing = client.get(DOWNLOADS).text
    assert "Hidden" not in listing and listing.index("Alpha TV") < listing.index("Zulu watch")
    client.force_login(customer)
    listing = client.get(DOWNLOADS).text
    assert listing.index("Zulu watch") < listing.index("Alpha TV")
    page = client.get(reverse("kb:product-downloads", args=[mine.pk])).text
    card = section(page, f"release-{release.pk}")
    assert "5.0.1" in card and release.sha256 in card and "2.0\xa0KB" in card
    assert "<p>Line one</p>" in card and "Line &lt;two&gt;" in card
    assert f'href="/support/downloads/release/{release.pk}/file"' in card
    assert client.get(reverse("kb:product-downloads", args=[999999])).status_code == 404


def test_the_suggestions_partial_posts_each_article_to_the_answered_view(client, customer):
    article = ArticleFactory(title="No sound on the TV", summary="Check the output")
    deflection = services.suggestions_shown(customer=customer, query="tv no sound", articles=[article])
    request = RequestFactory().get("/")
    request.user = customer
    html = render_to_string(
        "techsupport/kb/_suggestions.html", {"articles": [article], "deflection": deflection}, request=request
    )
    assert f'action="/support/help/answered/{deflection.pk}/"' in html
    assert f'name="article" value="{article.pk}"' in html and "csrfmiddlewaretoken" in html
    assert "This answered my question" in html
    client.force_login(customer)
    response = client.post(reverse("kb:answered", args=[deflection.pk]), {"article": article.pk}, follow=True)
    assert response.redirect_chain[-1][0] == HELP
    assert "glad that answered your question" in response.text
    deflection.refresh_from_db()
    assert (deflection.outcome, deflection.helped_by) == ("resolved", article)


def test_only_the_customer_marks_their_suggestions_answered(client, customer, other_customer):
    deflection = services.suggestions_shown(customer=customer, query="tv", articles=[])
    url = reverse("kb:answered", args=[deflection.pk])
    anonymous = client.post(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    client.force_login(other_customer)
    assert client.post(url).status_code == 404
    assert client.get(url).status_code in (404, 405)
    client.force_login(customer)
    refused = client.post(url, {"article": ArticleFactory().pk}, follow=True)  # not among the suggestions
    assert "not among the suggestions" in refused.text
    assert Deflection.objects.get(pk=deflection.pk).outcome == "shown"


def test_suggest_and_partial_render_nothing_without_articles():
    assert render_to_string("techsupport/kb/_suggestions.html", {"articles": [], "deflection": None}).strip() == ""
    assert selectors.suggest("") == []
