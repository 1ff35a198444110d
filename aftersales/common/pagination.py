"""Pages of a list that fits on its first page are read with one query, not a COUNT and a SELECT: most
customers' lists (their orders, cases, tickets) are that short."""

from django.core.paginator import Paginator as DjangoPaginator
from rest_framework import pagination


class Paginator(DjangoPaginator):
    """Django's Paginator, except that page 1 is read first: when it is not full it holds every row and
    its length is the count. A full first page, and every other page, are counted as Django counts them."""

    def page(self, number):
        if str(number) != "1" or self.orphans:
            return super().page(number)
        rows = list(self.object_list[: self.per_page])
        if len(rows) < self.per_page:
            self.count = len(rows)  # a cached_property: no COUNT query after this
        self.validate_number(1)  # an empty list without allow_empty_first_page is still refused
        return self._get_page(rows, 1, self)

    def get_page(self, number):
        # Django's get_page shows page 1 for a missing number too.
        return self.page(1) if number is None or str(number) == "1" else super().get_page(number)


class PageNumberPagination(pagination.PageNumberPagination):
    django_paginator_class = Paginator
