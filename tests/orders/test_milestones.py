"""Order milestones pushed by the storefront (R-ORD-2)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from aftersales.orders.models import Order
from tests import factories
from tests.orders.conftest import make_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped_order(shop, products):
    """An order that is paid but not yet out of the warehouse."""
    body = make_body(left_warehouse_at=None, signed_for_at=None, parcels=[])
    assert shop.put("/api/v1/storefront/orders/SO-M1", body, format="json").status_code == 201
    return Order.objects.get(number="SO-M1")


def post(shop, number, data):
    return shop.post(f"/api/v1/storefront/orders/{number}/milestones", data, format="json")


def test_R_ORD_2_milestones_are_recorded_and_idempotent(shop, shipped_order):
    """R-ORD-2: milestones are recorded and idempotent."""
    left = timezone.now() - timedelta(days=2)
    signed = timezone.now() - timedelta(hours=3)
    data = {"left_warehouse_at": left.isoformat(), "signed_for_at": signed.isoformat()}

    first = post(shop, "SO-M1", data)
    second = post(shop, "SO-M1", data)

    assert first.status_code == 200 and first.json()["changed"] is True
    assert first.json()["status"] == "signed_for"
    assert second.status_code == 200 and second.json()["changed"] is False
    shipped_order.refresh_from_db()
    assert shipped_order.left_warehouse_at == left and shipped_order.signed_for_at == signed


def test_R_ORD_2_signed_for_cannot_move_before_the_warehouse_exit(shop, shipped_order):
    """R-ORD-2: signed for cannot move before the warehouse exit."""
    left = timezone.now() - timedelta(days=1)
    post(shop, "SO-M1", {"left_warehouse_at": left.isoformat()})

    response = post(shop, "SO-M1", {"signed_for_at": (left - timedelta(hours=1)).isoformat()})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"signed_for_at"}
    shipped_order.refresh_from_db()
    assert shipped_order.signed_for_at is None


def test_R_ORD_2_warehouse_exit_cannot_move_after_the_sign_for(shop, shipped_order):
    """R-ORD-2: warehouse exit cannot move after the sign for."""
    signed = timezone.now() - timedelta(days=1)
    post(
        shop,
        "SO-M1",
        {"left_warehouse_at": (signed - timedelta(days=1)).isoformat(), "signed_for_at": signed.isoformat()},
    )

    response = post(shop, "SO-M1", {"left_warehouse_at": (signed + timedelta(hours=1)).isoformat()})

    assert response.status_code == 400 and set(response.json()["fields"]) == {"left_warehouse_at"}


def test_R_ORD_2_cancelling_an_order(shop, shipped_order):
    """R-ORD-2: cancelling an order."""
    response = post(shop, "SO-M1", {"cancelled_at": timezone.now().isoformat()})

    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_R_ORD_2_milestone_before_the_order_was_placed_is_refused(shop, shipped_order):
    """R-ORD-2: milestone before the order was placed is refused."""
    placed = shipped_order.placed_at

    response = post(shop, "SO-M1", {"cancelled_at": (placed - timedelta(days=1)).isoformat()})

    assert response.status_code == 400 and set(response.json()["fields"]) == {"cancelled_at"}


def test_R_ORD_2_empty_or_malformed_milestones_are_400(shop, shipped_order):
    """R-ORD-2: empty or malformed milestones are 400."""
    assert post(shop, "SO-M1", {}).status_code == 400
    response = post(shop, "SO-M1", {"signed_for_at": "soon"})
    assert response.status_code == 400 and set(response.json()["fields"]) == {"signed_for_at"}


def test_R_ORD_2_milestones_of_an_unknown_order_are_404(shop, storefront):
    """R-ORD-2: milestones of an unknown order are 404."""
    assert post(shop, "SO-NOPE", {"signed_for_at": timezone.now().isoformat()}).status_code == 404


def test_R_ORD_2_milestones_of_another_storefronts_order_are_404(shop, shipped_order):
    """R-ORD-2: milestones of another storefronts order are 404."""
    from aftersales.orders import services

    other, _ = services.create_storefront(name="Other shop")
    shipped_order.storefront = other
    shipped_order.save()

    assert post(shop, "SO-M1", {"signed_for_at": timezone.now().isoformat()}).status_code == 404


def test_R_ORD_2_milestones_need_a_storefront_token(client, shipped_order):
    """R-ORD-2: milestones need a storefront token."""
    client.force_login(factories.StaffFactory(role="supervisor"))
    response = client.post(
        "/api/v1/storefront/orders/SO-M1/milestones",
        {"signed_for_at": timezone.now().isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 401


def test_R_ORD_2_milestone_keeps_the_ingest_digest(shop, shipped_order, products):
    """A re-push of the same (older) body after a milestone is a no-op and keeps the milestone."""
    signed = timezone.now() - timedelta(hours=1)
    post(shop, "SO-M1", {"signed_for_at": signed.isoformat()})
    body = make_body(left_warehouse_at=None, signed_for_at=None, parcels=[])
    body["placed_at"] = shipped_order.placed_at.isoformat()
    body["paid_at"] = shipped_order.paid_at.isoformat()

    response = shop.put("/api/v1/storefront/orders/SO-M1", body, format="json")

    assert response.status_code == 200 and response.json()["changed"] is False
    assert parse_datetime(response.json()["signed_for_at"]) == signed
