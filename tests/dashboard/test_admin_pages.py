"""Every dashboard page opens for the staff who may see it, and for nobody else."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aftersales.accounts.roles import STAFF_ROLES
from aftersales.orders.models import PriceChange, Product
from tests import factories

pytestmark = pytest.mark.django_db


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def viewable_models(user) -> list:
    request = RequestFactory().get("/admin/")
    request.user = user
    return [model for model, model_admin in admin.site._registry.items() if model_admin.has_view_permission(request)]


def test_the_dashboard_is_branded_with_the_shop_name(client, superuser, settings):
    settings.SHOP_NAME = "Lotus Store"
    client.force_login(superuser)
    page = client.get(reverse("admin:index")).content.decode()
    assert "aftersales · 售后 · Lotus Store" in page
    assert "Staff dashboard" in page


def test_the_core_models_are_all_registered():
    registered = {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry}
    assert {
        "accounts.user",
        "orders.category",
        "orders.brand",
        "orders.product",
        "orders.pricechange",
        "orders.storefront",
        "orders.order",
        "orders.orderline",
        "orders.parcel",
        "cases.case",
        "cases.caseevent",
        "cases.attachment",
        "cases.notification",
        "cases.feedback",
        "cases.followup",
        "cases.businessday",
    } <= registered


def test_a_superuser_opens_every_changelist_and_a_change_page_of_each(client, superuser, populated):
    client.force_login(superuser)
    assert client.get(reverse("admin:index")).status_code == 200
    opened_change_pages = set()
    for model in admin.site._registry:
        url = changelist_url(model)
        response = client.get(url)
        assert response.status_code == 200, url
        # The filters and the search box work too.
        assert client.get(url, {"q": "x"}).status_code == 200, url
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            response = client.get(change_url(obj))
            assert response.status_code == 200, change_url(obj)
            opened_change_pages.add(model._meta.label_lower)
    assert {
        "cases.case",
        "cases.attachment",
        "cases.feedback",
        "cases.followup",
        "orders.order",
        "orders.storefront",
    } <= opened_change_pages


def test_every_case_filter_renders_and_selects(client, superuser, populated, due_case):
    client.force_login(superuser)
    url = changelist_url(populated["case"].__class__)
    open_number, closed_number, due_number = populated["case"].number, populated["closed"].number, due_case.number
    # (filter, numbers that must be listed, numbers that must not)
    expectations = [
        ({"kind__exact": "return"}, {open_number, closed_number, due_number}, set()),
        ({"status": "submitted"}, {open_number, due_number}, {closed_number}),
        ({"status": "completed", "kind__exact": "return"}, {closed_number}, {open_number}),
        ({"deadline": "soon"}, {due_number}, {open_number}),
        ({"deadline": "past"}, set(), {due_number, open_number}),
        ({"deadline": "later"}, set(), {due_number}),
        ({"deadline": "none"}, {open_number, closed_number}, {due_number}),
        ({"open": "1"}, {open_number, due_number}, {closed_number}),
        ({"open": "0"}, {closed_number}, {open_number}),
        ({"q": open_number}, {open_number}, {closed_number}),
        ({"q": populated["order"].number}, {open_number, closed_number}, {due_number}),
        ({"q": populated["order"].customer.email}, {open_number, closed_number, due_number}, set()),
    ]
    for params, listed, not_listed in expectations:
        response = client.get(url, params)
        assert response.status_code == 200, params
        rows = {number for number in (open_number, closed_number, due_number) if f">{number}<" in response.text}
        assert listed <= rows, params
        assert not (not_listed & rows), params


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_each_staff_role_opens_the_pages_it_may_view(client, role, populated):
    user = factories.StaffFactory(role=role)
    client.force_login(user)
    assert client.get(reverse("admin:index")).status_code == 200
    models = viewable_models(user)
    assert models, role
    for model in models:
        assert client.get(changelist_url(model)).status_code == 200, (role, model)
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            assert client.get(change_url(obj)).status_code == 200, (role, model)


def test_finance_sees_cases_but_cannot_move_them(client, populated):
    user = factories.StaffFactory(role="finance")
    client.force_login(user)
    page = client.get(change_url(populated["case"])).content.decode()
    assert populated["case"].number in page
    assert 'name="name" value="approve"' not in page


def test_a_customer_cannot_reach_the_dashboard(client, customer, populated):
    client.force_login(customer)
    for url in (reverse("admin:index"), changelist_url(populated["case"].__class__), change_url(populated["case"])):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_an_anonymous_visitor_is_sent_to_the_login(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert client.get(reverse("admin:login")).status_code == 200


def test_cases_cannot_be_added_or_deleted_in_the_dashboard(client, superuser, populated):
    client.force_login(superuser)
    case = populated["case"]
    assert client.get(reverse("admin:cases_case_add")).status_code == 403
    assert client.get(reverse("admin:cases_case_delete", args=[case.pk])).status_code == 403
    assert client.post(reverse("admin:cases_case_delete", args=[case.pk]), {"post": "yes"}).status_code == 403
    case.refresh_from_db()


def test_the_storefront_token_is_never_shown(client, superuser, populated):
    client.force_login(superuser)
    storefront = populated["order"].storefront
    page = client.get(change_url(storefront)).content.decode()
    assert storefront.token_hint in page
    assert storefront.token_sha256 not in page
    assert 'name="token_sha256"' not in page


def test_order_money_is_read_only(client, superuser, populated):
    client.force_login(superuser)
    page = client.get(change_url(populated["order"])).content.decode()
    assert 'name="paid_total"' not in page
    assert 'name="goods_total"' not in page
    assert "Signed for" in page  # the derived status is shown


def test_a_supervisor_cannot_promote_anyone(client, supervisor, customer):
    client.force_login(supervisor)
    page = client.get(change_url(customer)).content.decode()
    assert 'name="is_superuser"' not in page
    assert 'name="groups"' not in page
    assert 'name="full_name"' in page
    admin_user = factories.StaffFactory(is_superuser=True)
    response = client.get(change_url(admin_user))
    assert response.status_code == 200  # viewable, but read-only
    assert 'name="full_name"' not in response.text
    assert client.get(reverse("admin:auth_user_password_change", args=[admin_user.pk])).status_code == 403


def test_a_price_entry_added_in_the_dashboard_goes_through_the_price_history(client, superuser):
    product = factories.ProductFactory(price=Decimal("1999.00"))
    client.force_login(superuser)
    page = client.get(change_url(product)).text
    assert 'name="price"' not in page  # an existing product's price moves only by a history entry
    now = timezone.localtime()
    response = client.post(
        reverse("admin:orders_pricechange_add"),
        {
            "product": product.pk,
            "price": "1899.00",
            "kind": "regular",
            "effective_at_0": now.strftime("%Y-%m-%d"),
            "effective_at_1": (now - timedelta(minutes=1)).strftime("%H:%M:%S"),
            "note": "Autumn price",
        },
    )
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    entry = PriceChange.objects.get(product=product, note="Autumn price")
    assert entry.price == Decimal("1899.00")
    product.refresh_from_db()
    assert product.price == Decimal("1899.00")


def test_a_product_added_in_the_dashboard_starts_its_price_history(client, superuser):
    brand, category = factories.BrandFactory(), factories.CategoryFactory()
    client.force_login(superuser)
    response = client.post(
        reverse("admin:orders_product_add"),
        {
            "sku": "NEW-1",
            "name": "New phone",
            "brand": brand.pk,
            "category": category.pk,
            "price": "999.00",
            "active": "on",
            "price_changes-TOTAL_FORMS": "0",
            "price_changes-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    product = Product.objects.get(sku="NEW-1")
    assert list(product.price_changes.values_list("price", "kind")) == [(Decimal("999.00"), "regular")]


@pytest.mark.parametrize(
    "url_name", ["admin:cases_case_changelist", "admin:cases_caseevent_changelist", "admin:orders_order_changelist"]
)
def test_changelists_do_not_query_per_row(client, superuser, django_assert_max_num_queries, url_name):
    client.force_login(superuser)

    def add_cases(count):
        for _ in range(count):
            customer = factories.CustomerFactory()
            order = factories.order_with_lines(customer=customer)
            factories.open_case(customer=customer, order=order)

    add_cases(2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse(url_name)).status_code == 200
    add_cases(8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse(url_name)).status_code == 200
