"""The knowledge base in the staff dashboard (R-SUP-5): supervisors write and publish articles and
upload releases (stored, sized and hashed by the service; counters and checksum never typed); agents
read; suggestions are read-only with the deflection rate of the last 30 days above them."""

import hashlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from techsupport.models import Article, Deflection, Release
from tests import factories
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"admin:techsupport_{name}", args=args)


def test_a_supervisor_writes_an_article_linked_to_products_and_categories(client, supervisor):
    product, category = factories.ProductFactory(), factories.CategoryFactory(name="TVs")
    client.force_login(supervisor)
    response = client.post(
        url("article_add"),
        {
            "title": "Dolby Vision",
            "slug": "dolby-vision",
            "kind": "guide",
            "language": "en",
            "published": "on",
            "summary": "Turn it on",
            "body": "Step one.\n\nStep two.",
            "video_url": "",
            "products": [product.pk],
            "categories": [category.pk],
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    article = Article.objects.get(slug="dolby-vision")
    assert list(article.products.all()) == [product] and list(article.categories.all()) == [category]
    page = client.get(url("article_change", article.pk)).text
    assert 'name="helpful_yes"' not in page and 'name="views"' not in page  # read-only counters
    assert page.count('data-ajax--url="/admin/autocomplete/"') == 2  # products and categories


def test_the_article_list_filters_and_shows_the_helpful_share(client, supervisor):
    ArticleFactory(title="Loved", kind="faq", helpful_yes=3, helpful_no=1)
    ArticleFactory(title="Unrated", kind="care", published=False)
    client.force_login(supervisor)
    page = client.get(url("article_changelist")).text
    assert "75%" in page
    listed = client.get(url("article_changelist"), {"kind__exact": "care", "published__exact": "0"}).text
    assert "Unrated" in listed and "Loved" not in listed
    assert "Loved" in client.get(url("article_changelist"), {"q": "lov"}).text


def test_publish_and_unpublish_actions(client, supervisor):
    drafts = [ArticleFactory(published=False), ArticleFactory(published=False)]
    client.force_login(supervisor)
    ids = [a.pk for a in drafts]
    response = client.post(url("article_changelist"), {"action": "publish", "_selected_action": ids}, follow=True)
    assert "2 articles published." in response.text
    assert Article.objects.filter(pk__in=ids, published=True).count() == 2
    client.post(url("article_changelist"), {"action": "unpublish", "_selected_action": ids[:1]})
    assert list(Article.objects.filter(published=True).values_list("pk", flat=True)) == ids[1:]


def test_a_release_uploaded_in_the_dashboard_goes_through_the_service(client, supervisor):
    product = factories.ProductFactory()
    data = b"\x00firmware\xff" * 1000
    now = timezone.localtime()
    client.force_login(supervisor)
    form = {
        "product": product.pk,
        "version": "5.0.0.120",
        "released_at_0": now.strftime("%Y-%m-%d"),
        "released_at_1": now.strftime("%H:%M:%S"),
        "notes": "Fixes",
        "published": "on",
    }
    response = client.post(url("release_add"), {**form, "file": SimpleUploadedFile("fw.bin", data)})
    assert response.status_code == 302, response.context["adminform"].form.errors
    release = Release.objects.get()
    assert (release.size, release.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert release.file.name.endswith("/5.0.0.120/fw.bin")
    page = client.get(url("release_change", release.pk)).text
    assert release.sha256 in page
    for field in ("sha256", "size", "downloads", "file", "version"):
        assert f'name="{field}"' not in page, field
    again = client.post(url("release_add"), {**form, "file": SimpleUploadedFile("fw2.bin", b"other")})
    assert again.status_code == 200 and "already exists" in again.text
    bad = client.post(url("release_add"), {**form, "version": "../x", "file": SimpleUploadedFile("f.bin", b"1")})
    assert bad.status_code == 200 and "A version is at most 32" in bad.text
    assert Release.objects.count() == 1


def test_agents_read_the_knowledge_base_but_do_not_write_it(client, agent, customer):
    ArticleFactory()
    factories.release()
    Deflection.objects.create(customer=customer, query="tv")
    client.force_login(agent)
    for name in ("article", "release", "deflection"):
        assert client.get(url(f"{name}_changelist")).status_code == 200, name
    assert client.get(url("article_add")).status_code == 403
    assert client.get(url("release_add")).status_code == 403


def test_suggestions_are_read_only_with_the_rate_of_the_last_30_days(client, supervisor, customer):
    for outcome in ("resolved", "resolved", "ticket", "shown"):
        Deflection.objects.create(customer=customer, query=f"q {outcome}", outcome=outcome)
    old = Deflection.objects.create(customer=customer, query="old", outcome="ticket")
    Deflection.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=31))
    client.force_login(supervisor)
    page = client.get(url("deflection_changelist")).text
    assert "Deflection rate, last 30 days:" in page
    assert '<span class="deflection-percent">66.7%</span>' in page
    assert "Answered without a ticket: 2 · ticket opened after all: 1 · no outcome yet: 1." in page
    filtered = client.get(url("deflection_changelist"), {"outcome__exact": "ticket"}).text
    assert "q ticket" in filtered and "q resolved" not in filtered
    assert client.get(url("deflection_add")).status_code == 403
    change = client.get(url("deflection_change", old.pk)).text
    assert 'name="query"' not in change
