"""The order's after-sales page in the portal: open options with deadlines, refusals with reasons."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories

pytestmark = pytest.mark.django_db


def test_R_RET_15_portal_shows_open_options_and_refusals_with_rule_ids(client, customer):
    """R-RET-15: policy transparency in the portal, reached from the order page."""
    order = factories.order_with_lines(customer=customer, signed_for_at=timezone.now() - timedelta(days=9))
    client.force_login(customer)
    detail = client.get(reverse("portal:order-detail", args=[order.number])).content.decode()
    url = reverse("returns:order-options", args=[order.number])
    assert url in detail
    page = client.get(url).content.decode()
    assert "Quality problem" in page and "Exchange" in page  # day 9: quality exchange is open
    assert "No-reason returns close 7 days after sign-for." in page and "(R-RET-1)" in page


def test_portal_options_of_another_customers_order_are_404(client, customer, other_customer):
    order = factories.order_with_lines(customer=other_customer)
    client.force_login(customer)
    assert client.get(reverse("returns:order-options", args=[order.number])).status_code == 404


def test_return_settings_are_editable_by_a_supervisor_in_the_dashboard(client, supervisor):
    from returns.models import ReturnSettings

    settings_row = ReturnSettings.current()
    client.force_login(supervisor)
    url = reverse("admin:returns_returnsettings_change", args=[settings_row.pk])
    response = client.post(
        url,
        {
            "auto_approve_limit": "800.00",
            "ship_deadline_days": 5,
            "inspection_business_days": 3,
            "free_returns_per_year": 1,
            "receipt_confirm_days": 7,
        },
    )
    assert response.status_code == 302
    settings_row.refresh_from_db()
    assert settings_row.auto_approve_limit == 800 and settings_row.ship_deadline_days == 5


def test_R_RET_13_a_line_refused_for_one_reason_says_it_once(client, customer):
    from tests.returns.test_submit import submit

    order = factories.order_with_lines(customer=customer, signed_for_at=timezone.now() - timedelta(days=1))
    submit(order)  # the only unit is requested
    client.force_login(customer)
    page = client.get(reverse("returns:order-options", args=[order.number])).content.decode()
    assert page.count("Every unit of this item is already in an after-sales request.") == 1
    assert "(R-RET-13)" in page
