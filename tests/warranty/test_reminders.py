"""R-WAR-1: the daily warranty-expiry reminder, sent once per line and coverage end."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from aftersales.cases.models import Notification
from tests import factories
from warranty.models import Claim, ExpiryReminder, WarrantySettings
from warranty.services.reminders import remind_expiring
from warranty.tasks import remind_expiring_warranties

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 3, 1, 10, 0, tzinfo=SH)


def signed_order(customer, signed_for_at, **product):
    order = factories.order_with_lines(customer=customer, signed_for_at=signed_for_at, placed_at=signed_for_at)
    if product:
        line = order.lines.get()
        for field, value in product.items():
            setattr(line.product, field, value)
        line.product.save()
    return order


def test_R_WAR_1_a_customer_hears_once_within_the_reminder_days(customer):
    # 12 months from 20 March 2026: covered to 19 March 2027, 18 days after NOW.
    soon = signed_order(customer, datetime(2026, 3, 20, 15, 0, tzinfo=SH))
    later = signed_order(customer, datetime(2026, 4, 20, 15, 0, tzinfo=SH))  # ends 19 April: not yet
    ended = signed_order(customer, datetime(2026, 2, 20, 15, 0, tzinfo=SH))  # ended 19 February
    long_one = signed_order(customer, datetime(2025, 3, 20, 15, 0, tzinfo=SH), warranty_months=24)
    assert remind_expiring(now=NOW) == 2
    reminded = set(ExpiryReminder.objects.values_list("order_line__order_id", flat=True))
    assert reminded == {soon.pk, long_one.pk}
    assert later.pk not in reminded and ended.pk not in reminded
    assert Notification.objects.filter(user=customer, title__contains="ends soon").count() == 2
    assert "2027-03-19" in Notification.objects.filter(user=customer).first().body
    assert remind_expiring(now=NOW + timedelta(days=1)) == 0  # once only


def test_R_WAR_8_an_extended_warranty_is_reminded_at_its_new_end(customer):
    order = signed_order(customer, datetime(2026, 2, 20, 15, 0, tzinfo=SH))  # base end 19 Feb 2027: past
    case = factories.open_case(customer=customer, kind="warranty", order=order)
    Claim.objects.create(
        case=case,
        order_line=order.lines.get(),
        fault="display",
        description="x",
        coverage_ends_at=NOW,
        received_at=datetime(2026, 9, 1, tzinfo=SH),
        shipped_back_at=datetime(2026, 9, 21, tzinfo=SH),
        repair_days=20,
    )
    assert remind_expiring(now=NOW) == 1  # now ends 11 March 2027
    assert ExpiryReminder.objects.get().coverage_ends_on.isoformat() == "2027-03-11"


def test_the_reminder_window_is_a_knob_and_the_task_runs_it(customer):
    WarrantySettings.objects.update_or_create(pk=1, defaults={"expiry_reminder_days": 7})
    signed_order(customer, datetime(2026, 3, 20, 15, 0, tzinfo=SH))  # ends in 18 days
    assert remind_expiring(now=NOW) == 0
    assert remind_expiring_warranties.delay().get() == 0
    assert remind_expiring(now=NOW + timedelta(days=12)) == 1


def test_R_WAR_1_the_reminder_links_to_the_portals_products_page(customer, settings):
    """The link is absolute, built from PORTAL_URL as the other notifications build theirs."""
    settings.PORTAL_URL = "https://shop.example.com"
    signed_order(customer, datetime(2026, 3, 20, 15, 0, tzinfo=SH))  # ends 19 March 2027
    assert remind_expiring(now=NOW) == 1
    body = Notification.objects.get(user=customer).body
    assert "https://shop.example.com/warranty/" in body
    assert body.endswith("https://shop.example.com" + reverse("warranty:products"))
