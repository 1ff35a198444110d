"""Units sold per product and shop day, pre-aggregated (DailySales) so the return-rate chart need not join a
year of orders with their lines on every page view.

`roll_up` (an hourly task) adds the shop days finished since its last run and counts again the days that
database triggers noted as changed (OrderChange); `units_sold` reads the pre-aggregate where it holds a day
unchanged since, and the order lines themselves for every other day, so it returns exactly what the lines
say at that moment. The days are shop days in the current time zone; a pre-aggregate counted in another
time zone is ignored and counted afresh.
"""

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from aftersales.orders.models import OrderLine

from .models import DailySales, OrderChange, SalesRollup

BATCH = 5000


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, timezone.get_current_timezone())


def _placed(first: date, end: date, prefix: str = "order__placed_at") -> Q:
    """Placed on shop days first … end − 1."""
    return Q(**{f"{prefix}__gte": _midnight(first), f"{prefix}__lt": _midnight(end)})


def _runs(days: set[date]) -> list[tuple[date, date]]:
    """Days as [first, end) runs of consecutive days."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + timedelta(days=1))
        else:
            runs.append((day, day + timedelta(days=1)))
    return runs


def _sold_lines(placed: Q, products: QuerySet | None) -> QuerySet:
    lines = OrderLine.objects.filter(placed, order__cancelled_at__isnull=True)
    return lines if products is None else lines.filter(product__in=products.values("pk"))


def units_sold(start: date, end: date, products: QuerySet | None = None) -> dict[int, int]:
    """Units on the lines of orders placed on shop days start … end − 1 and not cancelled, per product id
    (only `products`, if given)."""
    state = SalesRollup.objects.filter(
        pk=1, complete_before__isnull=False, time_zone=timezone.get_current_timezone_name()
    ).first()
    rolled_end = min(end, state.complete_before) if state else start
    sold: dict[int, int] = defaultdict(int)
    live = [(start, end)]
    if rolled_end > start:
        changes = OrderChange.objects.filter(_placed(start, rolled_end, "placed_at"))
        changed = {timezone.localdate(moment) for moment in changes.values_list("placed_at", flat=True)}
        rows = DailySales.objects.filter(day__gte=start, day__lt=rolled_end)
        if changed:
            rows = rows.exclude(day__in=changed)
        if products is not None:
            rows = rows.filter(product__in=products.values("pk"))
        for pk, units in rows.values_list("product_id").annotate(units=Sum("units")).order_by():
            sold[pk] += units
        live = _runs(changed) + ([(rolled_end, end)] if rolled_end < end else [])
    if live:
        placed = Q()
        for first, stop in live:
            placed |= _placed(first, stop)
        for pk, units in _sold_lines(placed, products).values_list("product_id").annotate(units=Sum("quantity")):
            sold[pk] += units
    return dict(sold)


def roll_up(today: date | None = None) -> int:
    """Count the shop days before `today` that DailySales lacks or that changed since they were counted;
    the number of days counted. The first run (or one in another time zone) counts every day."""
    today = today or timezone.localdate()
    zone = timezone.get_current_timezone_name()
    state, _created = SalesRollup.objects.get_or_create(pk=1)
    # The changes to clear are those read now: one written while this runs stays for the next run, and the
    # page counts its day from the order lines until then.
    changes = list(OrderChange.objects.values_list("pk", "placed_at"))
    if state.complete_before is None or state.time_zone != zone:
        stale, placed = DailySales.objects.all(), Q(order__placed_at__lt=_midnight(today))
        counted = None
    else:
        days = {timezone.localdate(moment) for _pk, moment in changes}
        days = {day for day in days if day < state.complete_before}
        first_new = state.complete_before
        while first_new < today:
            days.add(first_new)
            first_new += timedelta(days=1)
        stale, placed = DailySales.objects.filter(day__in=days), Q(pk__in=[])
        for first, end in _runs(days):
            placed |= _placed(first, end)
        counted = len(days)
    with transaction.atomic():
        stale.delete()
        rows = (
            _sold_lines(placed, None)
            .annotate(day=TruncDate("order__placed_at"))
            .values_list("day", "product_id")
            .annotate(units=Sum("quantity"))
            .order_by()
        )
        batch, days_seen = [], set()
        for day, product_id, units in rows.iterator(chunk_size=BATCH):
            batch.append(DailySales(day=day, product_id=product_id, units=units))
            days_seen.add(day)
            if len(batch) == BATCH:
                DailySales.objects.bulk_create(batch)
                batch = []
        DailySales.objects.bulk_create(batch)
        ids = [pk for pk, _moment in changes]
        for start in range(0, len(ids), BATCH):
            OrderChange.objects.filter(pk__in=ids[start : start + BATCH]).delete()
        state.complete_before, state.time_zone = today, zone
        state.save()
    return len(days_seen) if counted is None else counted
