"""R-WAR-1: customers hear before a unit's warranty ends, once per line and coverage end, however
often the daily job runs. The message links to the portal's products page (absolute, from
`settings.PORTAL_URL`, as every notification builds its links), where a claim is filed."""

from datetime import datetime, timedelta

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from aftersales.cases.notifications import notify
from aftersales.orders.guarantees import add_months, local_day
from aftersales.orders.models import Brand, Category, OrderLine, Product

from .. import policy, selectors
from ..models import Claim, ExpiryReminder, WarrantySettings


def _warranty_month_values() -> set[int]:
    """Every warranty length in use: a few values, so the search is a few indexed date ranges."""
    months = set(Category.objects.values_list("default_warranty_months", flat=True))
    months |= set(Brand.objects.exclude(warranty_months=None).values_list("warranty_months", flat=True))
    months |= set(Product.objects.exclude(warranty_months=None).values_list("warranty_months", flat=True))
    return months


def _candidates(now: datetime, days_before: int):
    """Lines whose coverage may end within the window: for each warranty length, the sign-for days that
    end in it, plus every line whose coverage repairs have extended."""
    today = local_day(now)
    ranges = Q()
    for months in _warranty_month_values():
        first = add_months(today, -months)  # ends (the day before the anniversary) today or later
        last = add_months(today + timedelta(days=days_before), -months) + timedelta(days=1)
        ranges |= Q(order__signed_for_at__date__gte=first, order__signed_for_at__date__lte=last)
    extended = Claim.objects.filter(repair_days__gt=0).values("order_line_id")
    return (
        OrderLine.objects.filter(ranges | Q(pk__in=extended), gift_of=None, order__cancelled_at=None)
        .exclude(order__signed_for_at=None)
        .select_related("order__customer", "product__category", "product__brand")
    )


def remind_expiring(*, now: datetime | None = None) -> int:
    """Notify each customer whose coverage ends within `expiry_reminder_days`; returns how many."""
    now = now or timezone.now()
    settings = WarrantySettings.current()
    knobs = settings.knobs()
    products_url = django_settings.PORTAL_URL + reverse("warranty:products")
    sent = 0
    for line in _candidates(now, settings.expiry_reminder_days).iterator(chunk_size=500):
        cover = selectors.line_coverage(line, settings=knobs)
        if cover is None or not policy.expiry_reminder_due(cover.ends_at, now, settings.expiry_reminder_days):
            continue
        ends_on = local_day(cover.ends_at)
        try:
            with transaction.atomic():
                ExpiryReminder.objects.create(order_line=line, coverage_ends_on=ends_on)
                notify(
                    user=line.order.customer,
                    title=lambda line=line: (
                        gettext("Your warranty for %(product)s ends soon") % {"product": line.product_name}
                    ),
                    body=lambda ends_on=ends_on: (
                        gettext(
                            "It ends on %(date)s. If anything is wrong with it, file a claim from "
                            "My products before then: %(url)s"
                        )
                        % {"date": ends_on.isoformat(), "url": products_url}
                    ),
                )
        except IntegrityError:  # already reminded for this end date
            continue
        sent += 1
    return sent
