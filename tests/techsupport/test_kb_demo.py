"""The demo shop's knowledge base: articles in English and Chinese for the demo products, firmware
releases stored and hashed by the service, and questions answered without a ticket or followed by one."""

import hashlib

import pytest
from django.core.management import call_command

from techsupport.kb import selectors
from techsupport.models import Article, Deflection, Release

pytestmark = pytest.mark.django_db


def test_seeded_knowledge_base_is_searchable_and_its_releases_are_whole(client):
    call_command("seed_demo", stdout=None)
    articles = Article.objects.filter(published=True)
    assert articles.count() >= 8
    assert {"en", "zh-hans"} <= set(articles.values_list("language", flat=True))
    assert set(Article.Kind.values) <= set(articles.values_list("kind", flat=True))
    assert not [a.slug for a in articles if not a.products.exists() and not a.categories.exists()]
    assert selectors.search("杜比视界")[0].slug == "bravia-dolby-vision-zh"
    assert selectors.search("dolby vision")[0].slug == "bravia-dolby-vision"
    releases = Release.objects.all()
    assert releases.count() == 2
    for release in releases:
        with release.file.open("rb") as stored:
            data = stored.read()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (release.size, release.sha256)
    outcomes = set(Deflection.objects.values_list("outcome", flat=True))
    assert {"resolved", "ticket", "shown"} <= outcomes
    ticket = Deflection.objects.get(outcome="ticket")
    assert ticket.case.customer == ticket.customer and ticket.case.kind == "ticket"
    call_command("seed_demo", "--force", stdout=None)  # seeding again adds nothing
    assert Article.objects.count() == articles.count() and Release.objects.count() == 2
