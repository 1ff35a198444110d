"""The knowledge-base API (R-SUP-5): public search and reading, votes and suggestions for signed-in
customers, releases; bad input is a 400 with field messages, an anonymous caller a 401, another
customer's suggestion record or an unknown article a 404."""

from datetime import timedelta

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from techsupport.kb import services
from techsupport.models import ArticleVote, Deflection
from tests import factories
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/kb/"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def signed_in(api, customer):
    api.force_authenticate(customer)
    return api


def test_anyone_searches_articles_and_the_products_come_first(api):
    product = factories.ProductFactory()
    ArticleFactory(title="Reset guide", body="reset")
    mine = ArticleFactory(title="Factory settings", body="reset", products=[product], kind="faq")
    ArticleFactory(title="Reset draft", published=False)
    response = api.get(API + "articles/", {"q": "reset", "product": product.pk})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["title"] for r in rows] == ["Factory settings", "Reset guide"]
    assert rows[0]["url"] == f"/support/help/{mine.slug}/" and rows[0]["kind_label"] == "FAQ"
    faq = api.get(API + "articles/", {"kind": "faq"}).json()["results"]
    assert [r["title"] for r in faq] == ["Factory settings"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"product": "abc"}, "product"),
        ({"product": "0"}, "product"),
        ({"product": "99999999"}, "product"),
        ({"product": str(2**70)}, "product"),
        ({"kind": "nope"}, "kind"),
        ({"language": "fr"}, "language"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_article_queries_are_400_on_the_field(api, params, field):
    response = api.get(API + "articles/", params)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_an_article_is_read_by_anyone_and_counted(api):
    product = factories.ProductFactory()
    article = ArticleFactory(body="Para one.\n\nPara two.", products=[product])
    body = api.get(API + f"articles/{article.slug}/").json()
    assert body["body"] == "Para one.\n\nPara two." and body["products"] == [product.pk]
    article.refresh_from_db()
    assert article.views == 1
    draft = ArticleFactory(published=False)
    assert api.get(API + f"articles/{draft.slug}/").status_code == 404
    assert api.get(API + "articles/nope/").status_code == 404


def test_votes_need_a_login_and_move_the_counters(api, customer):
    article = ArticleFactory()
    url = API + f"articles/{article.slug}/vote/"
    assert api.post(url, {"helpful": True}, format="json").status_code == 401
    api.force_authenticate(customer)
    assert api.post(url, {"helpful": True}, format="json").json() == {
        "helpful": True,
        "helpful_yes": 1,
        "helpful_no": 0,
    }
    assert api.post(url, {"helpful": False}, format="json").json()["helpful_no"] == 1
    assert ArticleVote.objects.get().voter == f"u:{customer.pk}"
    bad = api.post(url, {"helpful": "perhaps"}, format="json")
    assert bad.status_code == 400 and "helpful" in bad.json()["fields"]
    assert api.post(url, {}, format="json").status_code == 400
    assert api.post(API + "articles/nope/vote/", {"helpful": True}, format="json").status_code == 404


def test_suggest_records_what_was_shown_and_returns_its_id(signed_in, customer):
    product = factories.ProductFactory()
    ArticleFactory(title="Screen flicker", body="flicker")
    mine = ArticleFactory(title="Picture settings", body="flicker", products=[product])
    response = signed_in.get(API + "suggest/", {"q": "my screen flickers", "product": product.pk})
    assert response.status_code == 200
    body = response.json()
    assert [a["title"] for a in body["articles"]] == [mine.title, "Screen flicker"]
    deflection = Deflection.objects.get(pk=body["deflection"])
    assert deflection.customer == customer and deflection.query == "my screen flickers"
    assert deflection.articles.count() == 2


def test_suggest_needs_a_login_and_a_question(api, signed_in):
    assert APIClient().get(API + "suggest/", {"q": "tv"}).status_code == 401
    for params in ({}, {"q": ""}, {"q": "   "}, {"q": "tv", "product": "x"}, {"q": "x" * 201}):
        response = signed_in.get(API + "suggest/", params)
        assert response.status_code == 400, params
    assert not Deflection.objects.exists()


def test_resolved_marks_the_customers_own_record(api, customer, other_customer):
    article = ArticleFactory()
    deflection = services.suggestions_shown(customer=customer, query="tv", articles=[article])
    url = API + f"deflections/{deflection.pk}/resolved/"
    assert api.post(url, {}, format="json").status_code == 401
    api.force_authenticate(other_customer)
    assert api.post(url, {}, format="json").status_code == 404
    api.force_authenticate(customer)
    assert api.post(url, {"article": "nope"}, format="json").status_code == 400
    other = ArticleFactory()
    refused = api.post(url, {"article": other.slug}, format="json")
    assert refused.status_code == 400 and "article" in refused.json()["fields"]
    response = api.post(url, {"article": article.slug}, format="json")
    assert response.status_code == 200
    assert response.json() == {"id": deflection.pk, "query": "tv", "outcome": "resolved", "helped_by": article.slug}
    assert api.post(API + "deflections/999999/resolved/", {}, format="json").status_code == 404


def test_releases_are_public_newest_first_with_their_download_link(api):
    product = factories.ProductFactory()
    old = factories.release(product=product, version="1.0", released_at=timezone.now() - timedelta(days=9))
    new = factories.release(product=product, version="1.1", content=b"abc")
    factories.release(product=product, version="2.0-beta", published=False)
    factories.release(version="7.0")
    rows = api.get(API + "releases/", {"product": product.pk}).json()["results"]
    assert [r["version"] for r in rows] == ["1.1", "1.0"]
    assert rows[0]["sha256"] == new.sha256 and rows[0]["size"] == 3
    assert rows[0]["download_url"] == f"/support/downloads/release/{new.pk}/file"
    assert rows[1]["id"] == old.pk
    assert len(api.get(API + "releases/").json()["results"]) == 3
    assert api.get(API + "releases/", {"product": "x"}).status_code == 400
    assert api.get(API + "releases/", {"product": "99999999"}).status_code == 400


def test_every_operation_is_documented_under_the_kb_tag():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    kb = {path: ops for path, ops in paths.items() if path.startswith("/api/v1/kb/")}
    assert set(kb) == {
        "/api/v1/kb/articles/",
        "/api/v1/kb/articles/{slug}/",
        "/api/v1/kb/articles/{slug}/vote/",
        "/api/v1/kb/suggest/",
        "/api/v1/kb/deflections/{id}/resolved/",
        "/api/v1/kb/releases/",
    }
    for ops in kb.values():
        for op in ops.values():
            assert op["tags"] == ["kb"]
    parameters = {p["name"] for p in kb["/api/v1/kb/articles/"]["get"]["parameters"]}
    assert {"q", "product", "kind", "language"} <= parameters
