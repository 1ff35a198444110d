"""The proactive price-drop sweep and the exposure figure staff see before cutting a price."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.cases.models import Notification
from aftersales.orders.models import PriceKind
from aftersales.orders.services.catalog import record_price_change
from priceprotect import selectors, services
from priceprotect.models import Claim, PriceDropOffer, PriceProtectionSettings
from tests import factories
from tests.priceprotect.conftest import in_transit_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return factories.ProductFactory(price=Decimal("1999.00"))


def order_of(product, *, quantity=1, unit_price=Decimal("1999.00"), **kwargs):
    order = in_transit_order(factories.CustomerFactory(), unit_price=unit_price, quantity=quantity, **kwargs)
    order.lines.update(product=product)
    return order


def drop(product, amount, kind=PriceKind.REGULAR):
    entry, _created = record_price_change(
        product=product, price=Decimal(amount), kind=kind, effective_at=timezone.now() - timedelta(seconds=1)
    )
    return entry


def test_a_regular_price_drop_tells_every_order_in_its_window_once(product, django_capture_on_commit_callbacks):
    reached = [order_of(product), order_of(product, quantity=3)]
    order_of(product, signed_for_at=timezone.now() - timedelta(days=3))  # window closed (R-PP-2)
    order_of(product, is_b2b=True)  # R-PP-4
    order_of(product, unit_price=Decimal("1699.00"))  # paid less than the new price
    claimed = order_of(product)
    Claim.objects.create(
        case=factories.open_case(customer=claimed.customer, kind="price_protection", order=claimed),
        order=claimed,
        mode="credit",
        destination="coupon",
        amount=1,
        largest_drop_percent=1,
    )  # R-PP-5
    with django_capture_on_commit_callbacks(execute=True):
        entry = drop(product, "1799.00")  # the signal queues the sweep after commit (eager in tests)
    offers = PriceDropOffer.objects.filter(price_change=entry)
    assert sorted(offers.values_list("order_id", "amount")) == [
        (reached[0].pk, Decimal("200.00")),
        (reached[1].pk, Decimal("600.00")),
    ]
    notes = Notification.objects.filter(user__in=[o.customer for o in reached])
    assert notes.count() == 2
    note = notes.get(user=reached[1].customer)
    assert "600.00" in note.title and f"/price-protection/{reached[1].number}/" in note.body
    # A re-run (a retried task) tells nobody twice.
    assert services.sweep_price_drop(entry_id=entry.pk) == 0
    assert Notification.objects.count() == 2


def test_R_PP_4_a_flash_sale_sweeps_nobody(product, django_capture_on_commit_callbacks):
    order_of(product)
    with django_capture_on_commit_callbacks(execute=True):
        drop(product, "999.00", kind=PriceKind.FLASH_SALE)
    assert not PriceDropOffer.objects.exists() and not Notification.objects.exists()


def test_the_shop_may_have_the_sweep_claim_for_customers(product):
    PriceProtectionSettings.objects.update_or_create(pk=1, defaults={"claim_automatically": True})
    orders = [order_of(product), order_of(product)]
    entry = drop(product, "1899.00")
    assert services.sweep_price_drop(entry_id=entry.pk) == 2
    claims = Claim.objects.filter(order__in=orders)
    assert claims.count() == 2 and all(c.automatic and c.case.status == "compensated" for c in claims)


def test_the_sweep_streams_in_batches(product):
    orders = [order_of(product) for _ in range(7)]
    entry = drop(product, "1899.00")
    assert services.sweep_price_drop(entry_id=entry.pk, batch_size=3) == 7
    assert set(PriceDropOffer.objects.values_list("order_id", flat=True)) == {o.pk for o in orders}


def test_a_superseded_drop_is_left_to_the_newer_one(product):
    order_of(product)
    older = drop(product, "1899.00")
    drop(product, "1799.00")
    assert services.sweep_price_drop(entry_id=older.pk) == 0


def test_exposure_of_a_planned_price_cut(product):
    order_of(product)
    order_of(product, quantity=2)
    order_of(product, is_b2b=True)
    figure = selectors.exposure(product, Decimal("1799.00"))
    assert figure == {"orders": 2, "units": 3, "amount": Decimal("600.00")}
    assert selectors.exposure(product, Decimal("2500.00"))["amount"] == Decimal("0.00")
