"""Votes on "Was this helpful?" (R-SUP-5): one vote per voter, a changed vote moves the counters, and the
counters always equal the votes, also when votes arrive at the same moment (PostgreSQL)."""

import pytest
from django.db.models import Count, Q

from aftersales.common.errors import ValidationFailed
from techsupport.kb import services
from techsupport.models import Article, ArticleVote
from tests.cases.test_concurrency import run_together
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def counters(article) -> tuple[int, int]:
    article.refresh_from_db()
    return article.helpful_yes, article.helpful_no


def counted_votes(article) -> tuple[int, int]:
    tally = ArticleVote.objects.filter(article=article).aggregate(
        yes=Count("pk", filter=Q(helpful=True)), no=Count("pk", filter=Q(helpful=False))
    )
    return tally["yes"], tally["no"]


def test_one_vote_per_voter_and_a_changed_vote_moves_the_counters():
    article = ArticleFactory()
    services.vote(article=article, voter_key="u:1", helpful=True)
    assert counters(article) == (1, 0)
    services.vote(article=article, voter_key="u:1", helpful=True)  # the same again: nothing changes
    assert counters(article) == (1, 0)
    services.vote(article=article, voter_key="u:1", helpful=False)  # changed mind
    assert counters(article) == (0, 1)
    services.vote(article=article, voter_key="s:abc", helpful=False)
    assert counters(article) == (0, 2)
    assert ArticleVote.objects.filter(article=article).count() == 2


def test_counters_equal_the_votes_after_many_changes():
    article, other = ArticleFactory(), ArticleFactory()
    sequence = [("u:1", True), ("u:2", False), ("u:1", False), ("u:3", True), ("u:2", True), ("u:2", True)]
    sequence += [("s:x", False), ("u:3", False), ("u:1", True), ("s:x", True), ("s:y", False)]
    for voter, helpful in sequence:
        services.vote(article=article, voter_key=voter, helpful=helpful)
        assert counters(article) == counted_votes(article)
    services.vote(article=other, voter_key="u:1", helpful=False)
    assert counters(article) == (3, 2)  # u:1, u:2, s:x yes; u:3, s:y no; the other article's vote apart
    assert counters(other) == (0, 1)


def test_a_vote_leaves_the_edit_time_alone_and_views_are_counted():
    article = ArticleFactory()
    updated = article.updated_at
    services.vote(article=article, voter_key="u:9", helpful=True)
    services.record_view(article)
    services.record_view(article)
    article.refresh_from_db()
    assert (article.views, article.updated_at) == (2, updated)


def test_votes_on_an_unpublished_article_or_without_a_voter_are_refused():
    draft = ArticleFactory(published=False)
    with pytest.raises(ValidationFailed):
        services.vote(article=draft, voter_key="u:1", helpful=True)
    article = ArticleFactory()
    for key in ("", "u:" + "9" * 70):
        with pytest.raises(ValidationFailed) as refused:
            services.vote(article=article, voter_key=key, helpful=True)
        assert "voter" in refused.value.fields
    assert counters(draft) == counters(article) == (0, 0)
    assert not ArticleVote.objects.exists()


def test_voter_key_is_the_user_else_the_session():
    class Anonymous:
        is_authenticated = False

    class Signed:
        is_authenticated = True
        pk = 7

    assert services.voter_key(user=Signed(), session_key="abc") == "u:7"
    assert services.voter_key(user=Anonymous(), session_key="abc") == "s:abc"
    with pytest.raises(ValidationFailed):
        services.voter_key(user=Anonymous(), session_key=None)


def test_publishing_in_bulk_changes_only_what_differs():
    drafts = [ArticleFactory(published=False), ArticleFactory(published=False)]
    live = ArticleFactory()
    assert services.set_published(articles=[*drafts, live], published=True) == 2
    assert Article.objects.filter(published=True).count() == 3
    assert services.set_published(articles=[live], published=False) == 1
    live.refresh_from_db()
    assert not live.published


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pg_simultaneous_votes_never_drift_from_the_votes():
    article = ArticleFactory()
    for round_ in range(5):
        # Six voters at once, two of them changing their earlier vote.
        def cast(voter, helpful):
            return (lambda: None, lambda _: services.vote(article=article, voter_key=voter, helpful=helpful))

        helpful = round_ % 2 == 0
        results = run_together(
            cast("u:1", helpful),
            cast("u:2", not helpful),
            cast(f"s:{round_}a", True),
            cast(f"s:{round_}b", False),
            cast("u:1", helpful),  # the same voter twice at once: one vote
            cast("u:2", helpful),
        )
        assert all(isinstance(r, ArticleVote) for r in results), results
        assert counters(article) == counted_votes(article)
    assert ArticleVote.objects.filter(article=article).count() == 2 + 2 * 5
