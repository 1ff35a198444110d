"""The first-page paginator answers exactly as Django's does, and reads a list that fits on its first page
with one query (no COUNT)."""

import pytest
from django.core.paginator import EmptyPage
from django.core.paginator import Paginator as DjangoPaginator

from aftersales.common.pagination import Paginator
from aftersales.orders.models import Brand

pytestmark = pytest.mark.django_db


def brands():
    return Brand.objects.order_by("name")


def answer(paginator_class, number, *, get_page: bool):
    paginator = paginator_class(brands(), 5)
    try:
        page = paginator.get_page(number) if get_page else paginator.page(number)
    except EmptyPage as error:
        return type(error).__name__
    return [b.name for b in page], page.number, paginator.count, paginator.num_pages, page.has_next()


@pytest.mark.parametrize("rows", [0, 1, 4, 5, 6, 11])
def test_the_same_pages_as_djangos(rows):
    for n in range(rows):
        Brand.objects.create(name=f"Brand {n:02d}")
    for number in (1, "1", "2", 3, 99):
        assert answer(Paginator, number, get_page=False) == answer(DjangoPaginator, number, get_page=False)
    for number in (None, "1", "2", "x", "0", "99"):
        assert answer(Paginator, number, get_page=True) == answer(DjangoPaginator, number, get_page=True)


def test_a_short_list_is_one_query_and_a_full_first_page_is_counted(django_assert_num_queries):
    for n in range(4):
        Brand.objects.create(name=f"Brand {n:02d}")
    with django_assert_num_queries(1):
        page = Paginator(brands(), 5).page(1)
        assert (len(page), page.paginator.count, page.has_other_pages()) == (4, 4, False)
    Brand.objects.create(name="Brand 99")
    with django_assert_num_queries(2):  # five rows fill the page: there may be more
        page = Paginator(brands(), 5).page(1)
        assert (len(page), page.paginator.count, page.has_other_pages()) == (5, 5, False)


def test_an_empty_first_page_is_refused_when_not_allowed():
    with pytest.raises(EmptyPage):
        Paginator(brands(), 5, allow_empty_first_page=False).page(1)
