"""Notifications made without a request (sweeper, services) speak the customer's chosen language."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales.cases import services
from aftersales.cases.deadlines import sweep_due_deadlines
from tests import factories

pytestmark = pytest.mark.django_db


def test_language_switch_is_remembered_on_the_account(client, customer):
    client.force_login(customer)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    customer.refresh_from_db()
    assert customer.preferred_language == "zh-hans"


def test_expiry_notification_is_in_the_customers_language(customer, agent):
    """R-RET-10: the expiry is told to the customer, in Chinese when they chose Chinese."""
    customer.preferred_language = "zh-hans"
    customer.save()
    case = factories.open_case(customer=customer)
    services.transition(
        case=case,
        name="approve",
        actor=agent,
        deadline_at=timezone.now() - timedelta(minutes=1),
        deadline_action="expire_unshipped",
    )
    assert sweep_due_deadlines() == 1
    notification = customer.notifications.latest("created_at")
    assert "已失效" in notification.title
    approved = customer.notifications.earliest("created_at")
    assert case.number in approved.title and "审核通过" in approved.title
