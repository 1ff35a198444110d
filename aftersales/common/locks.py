"""How rows are locked, in one place: always `select_for_update(of=("self",))` and always in
primary-key order, so two transactions locking the same rows cannot deadlock."""

from django.db.models import Model, QuerySet


def lock_rows(queryset: QuerySet) -> list[Model]:
    return list(queryset.select_for_update(of=("self",)).order_by("pk"))


def lock_one(model: type[Model], pk) -> Model:
    return model.objects.select_for_update(of=("self",)).get(pk=pk)
