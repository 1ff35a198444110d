"""The demo shop's returns are made through the returns services, so they are whole cases."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from aftersales.accounts.models import User
from aftersales.cases.models import Case
from aftersales.finance.models import Refund
from returns.selectors import RETURN_KINDS

pytestmark = pytest.mark.django_db


def test_seeded_return_cases_have_their_requests_a_label_and_a_refund(client):
    call_command("seed_demo", stdout=None)
    returns = Case.objects.filter(kind__in=RETURN_KINDS)
    assert returns.count() >= 5
    assert not returns.filter(return_request__isnull=True).exists()
    assert set(returns.values_list("kind", flat=True)) == set(RETURN_KINDS)
    assert Refund.objects.filter(case__kind="return", state="pending_approval").exists()
    customer = User.objects.get(email="customer@demo.local")
    waiting = returns.get(customer=customer, status="awaiting_parcel")
    assert waiting.deadline_action == "remind_unshipped"
    client.force_login(customer)
    label = client.get(reverse("returns:label", args=[waiting.number]))
    assert label.status_code == 200 and waiting.number in label.content.decode()


def test_the_demo_shows_every_later_step_of_the_returns_flows():
    call_command("seed_demo", stdout=None)
    statuses = set(Case.objects.filter(kind__in=RETURN_KINDS).values_list("kind", "status"))
    assert {("return", "refund_pending"), ("return", "completed"), ("return", "sent_back")} <= statuses
    assert ("reissue", "replacement_shipped") in statuses
    assert Refund.objects.filter(case__kind="return", case__status="completed", state="succeeded").exists()
    exchange = Case.objects.get(kind="exchange", customer__email="customer@demo.local")
    assert exchange.return_request.amount_due > 0  # a dearer variant (R-RET-5)
    appliance = Case.objects.get(kind="return", status="refund_pending", customer__email="customer@demo.local")
    assert appliance.return_request.report_id is not None  # R-RET-8
