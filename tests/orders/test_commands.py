"""manage.py seed_demo and create_storefront (R-ORD-3: orders also come from a demo-data command)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from aftersales.accounts.models import User
from aftersales.cases.models import Case, CaseKind, Feedback, Notification
from aftersales.orders.authentication import hash_token
from aftersales.orders.models import Order, OrderLine, Parcel, PaymentMode, PriceChange, PriceKind, Product, Storefront

pytestmark = pytest.mark.django_db

LOGINS = [
    "customer@demo.local",
    "agent@demo.local",
    "technician@demo.local",
    "finance@demo.local",
    "supervisor@demo.local",
    "admin@demo.local",
]


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_R_ORD_3_seed_demo_builds_a_believable_shop(client):
    """R-ORD-3: seed demo builds a believable shop."""
    output = seed()

    assert Product.objects.count() >= 50
    assert User.objects.filter(groups__name="customer").count() >= 30
    orders = list(Order.objects.all())
    assert {o.payment_mode for o in orders} == set(PaymentMode.values)
    assert {o.status for o in orders} == {"placed", "paid", "shipped", "signed_for", "cancelled"}
    assert any(o.is_b2b for o in orders) and any(o.discount_total for o in orders)
    assert OrderLine.objects.filter(gift_of__isnull=False).exists()
    assert {p.carrier for p in Parcel.objects.all()} == {
        "SF Express 顺丰",
        "JD Logistics 京东物流",
        "ZTO 中通",
        "YTO 圆通",
    }
    kinds = set(PriceChange.objects.values_list("kind", flat=True))
    assert {PriceKind.FLASH_SALE, PriceKind.LIMITED_TIME, PriceKind.COUPON, PriceKind.SPECIAL} <= kinds
    assert PriceKind.PRICING_ERROR in kinds
    assert set(Case.objects.values_list("kind", flat=True)) == set(CaseKind.values)
    assert Case.objects.filter(
        kind=CaseKind.RETURN, status="awaiting_parcel", deadline_action="remind_unshipped", deadline_at__isnull=False
    ).exists()
    assert Feedback.objects.filter(case__closed_at__isnull=False).exists()
    assert Notification.objects.filter(user__email="customer@demo.local").exists()

    for email in LOGINS:
        assert email in output
        assert client.login(email=email, password="demo-pass-2026"), email
        client.logout()
    assert User.objects.get(email="admin@demo.local").is_superuser
    # STAFF_TWO_FACTOR: every staff login has the published demo key, and the summary says how to use it.
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from aftersales.accounts.demo import DEMO_TOTP_KEY, DEMO_TOTP_KEY_BASE32

    staff = User.objects.filter(email__in=LOGINS, is_staff=True)
    assert staff.count() >= 5 and all(TOTPDevice.objects.filter(user=u, key=DEMO_TOTP_KEY).exists() for u in staff)
    assert DEMO_TOTP_KEY_BASE32 in output and "totp_code" in output
    assert "demo-storefront-token" in output and "/api/docs/" in output

    shop = APIClient()
    shop.credentials(HTTP_AUTHORIZATION="Storefront demo-storefront-token")
    number = Order.objects.filter(storefront__name="Demo storefront").first().number
    assert shop.post(f"/api/v1/storefront/orders/{number}/milestones", {}, format="json").status_code == 400

    # The demo customer sees their orders in the portal.
    client.login(email="customer@demo.local", password="demo-pass-2026")
    assert client.get("/orders/").status_code == 200
    mine = Order.objects.filter(customer__email="customer@demo.local").first()
    assert client.get(f"/orders/{mine.number}/").status_code == 200


def test_seed_demo_refuses_a_second_run_and_if_empty_does_nothing():
    seed()
    counts = (Order.objects.count(), Product.objects.count(), Case.objects.count())

    refused = seed()
    skipped = seed("--if-empty")

    assert "--force" in refused and "nothing" in skipped
    assert (Order.objects.count(), Product.objects.count(), Case.objects.count()) == counts


def test_seed_demo_force_updates_without_duplicating():
    seed()
    counts = (Order.objects.count(), Product.objects.count(), Case.objects.count(), User.objects.count())

    seed("--force")

    assert (Order.objects.count(), Product.objects.count(), Case.objects.count(), User.objects.count()) == counts


def test_create_storefront_prints_the_token_once_and_stores_its_hash():
    out = StringIO()

    call_command("create_storefront", "Tmall flagship", stdout=out)

    token = out.getvalue().splitlines()[1].strip()
    storefront = Storefront.objects.get(name="Tmall flagship")
    assert len(token) >= 32 and storefront.token_sha256 == hash_token(token)
    with pytest.raises(CommandError):
        call_command("create_storefront", "Tmall flagship", stdout=StringIO())
