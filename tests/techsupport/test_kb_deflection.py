"""Articles suggested before a ticket (R-SUP-5) and what came of them: answered without a ticket, or a
ticket after all. A customer only ever touches their own record; the deflection rate is resolved ÷
(resolved + ticket) over a period."""

from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales.cases.models import CaseKind
from aftersales.common.errors import NotAllowed, ValidationFailed
from techsupport.kb import selectors, services
from techsupport.models import Deflection
from tests import factories
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def shown(customer, query="tv has no sound", articles=None):
    articles = articles if articles is not None else [ArticleFactory(title="No sound", body="tv")]
    return services.suggestions_shown(customer=customer, query=query, articles=articles)


def test_suggestions_are_recorded_with_the_published_articles_only(customer):
    live, draft = ArticleFactory(), ArticleFactory(published=False)
    deflection = shown(customer, query="  tv   has\nno sound ", articles=[live, draft])
    assert (deflection.customer, deflection.query, deflection.outcome) == (customer, "tv has no sound", "shown")
    assert list(deflection.articles.all()) == [live]


def test_refining_the_question_updates_the_same_record_until_it_has_an_outcome(customer, other_customer):
    first = shown(customer, query="tv")
    again = shown(customer, query="tv no sound", articles=[ArticleFactory(title="Sound")])
    assert again.pk == first.pk and Deflection.objects.get(pk=first.pk).query == "tv no sound"
    assert list(again.articles.values_list("title", flat=True)) == ["Sound"]
    assert shown(other_customer).pk != first.pk  # someone else's question is their own record
    services.resolved_without_ticket(deflection=first, customer=customer)
    assert shown(customer, query="watch").pk != first.pk  # answered: a new question is a new record
    Deflection.objects.filter(customer=customer, outcome="shown").update(at=timezone.now() - timedelta(hours=1))
    later = shown(customer, query="watch strap")
    assert Deflection.objects.filter(customer=customer).count() == 3 and later.query == "watch strap"


def test_an_anonymous_visitor_or_an_empty_question_is_not_recorded(customer):
    class Anonymous:
        is_authenticated = False

    with pytest.raises(NotAllowed):
        services.suggestions_shown(customer=Anonymous(), query="tv", articles=[])
    with pytest.raises(ValidationFailed):
        services.suggestions_shown(customer=customer, query="   ", articles=[])
    assert not Deflection.objects.exists()


def test_answered_by_a_suggested_article(customer):
    article = ArticleFactory()
    deflection = shown(customer, articles=[article])
    result = services.resolved_without_ticket(deflection=deflection, customer=customer, article=article)
    assert (result.outcome, result.helped_by) == ("resolved", article)
    # Saying it again without naming the article keeps the article.
    again = services.resolved_without_ticket(deflection=deflection, customer=customer)
    assert (again.outcome, again.helped_by) == ("resolved", article)


def test_an_article_that_was_not_suggested_is_refused(customer):
    deflection = shown(customer)
    with pytest.raises(ValidationFailed) as refused:
        services.resolved_without_ticket(deflection=deflection, customer=customer, article=ArticleFactory())
    assert "article" in refused.value.fields
    assert Deflection.objects.get(pk=deflection.pk).outcome == "shown"


def test_only_the_customer_touches_their_record(customer, other_customer, agent):
    deflection = shown(customer)
    case = factories.open_case(customer=other_customer, kind=CaseKind.TICKET)
    for intruder in (other_customer, agent):
        with pytest.raises(NotAllowed):
            services.resolved_without_ticket(deflection=deflection, customer=intruder)
        with pytest.raises(NotAllowed):
            services.ticket_opened(deflection=deflection, customer=intruder, case=case)
    assert not selectors.deflections_of(other_customer).filter(pk=deflection.pk).exists()
    assert Deflection.objects.get(pk=deflection.pk).outcome == "shown"


def test_a_ticket_opened_after_the_suggestions_is_not_deflected(customer, other_customer):
    deflection = shown(customer)
    services.resolved_without_ticket(deflection=deflection, customer=customer)  # thought so at first
    with pytest.raises(NotAllowed):  # a ticket of someone else is not theirs to link
        services.ticket_opened(
            deflection=deflection, customer=customer, case=factories.open_case(customer=other_customer)
        )
    case = factories.open_case(customer=customer, kind=CaseKind.TICKET)
    result = services.ticket_opened(deflection=deflection, customer=customer, case=case)
    assert (result.outcome, result.case) == ("ticket", case)
    with pytest.raises(ValidationFailed):  # once a ticket, always a ticket
        services.resolved_without_ticket(deflection=deflection, customer=customer)
    assert Deflection.objects.get(pk=deflection.pk).outcome == "ticket"


def test_deflection_rate_is_resolved_over_resolved_and_tickets_in_the_period(customer):
    now = timezone.now()
    outcomes = ["resolved", "resolved", "resolved", "ticket", "shown", "shown"]
    for outcome in outcomes:
        Deflection.objects.create(customer=customer, query="q", outcome=outcome)
    old = Deflection.objects.create(customer=customer, query="old", outcome="ticket")
    Deflection.objects.filter(pk=old.pk).update(at=now - timedelta(days=40))
    figures = selectors.deflection_rate(now - timedelta(days=30), now + timedelta(seconds=1))
    assert (figures.resolved, figures.ticket, figures.shown, figures.total) == (3, 1, 2, 6)
    assert figures.rate == 0.75 and figures.percent == 75.0
    empty = selectors.deflection_rate(now - timedelta(days=90), now - timedelta(days=60))
    assert (empty.total, empty.rate, empty.percent) == (0, None, None)
    assert selectors.deflection_rate(now - timedelta(days=60), now + timedelta(seconds=1)).rate == 0.6
