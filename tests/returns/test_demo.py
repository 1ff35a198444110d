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
    assert waiting.deadline_action == "expire_unshipped"
    client.force_login(customer)
    label = client.get(reverse("returns:label", args=[waiting.number]))
    assert label.status_code == 200 and waiting.number in label.content.decode()
