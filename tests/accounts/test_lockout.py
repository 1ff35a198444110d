"""Lockout (django-axes): LOGIN_LOCKOUT_FAILURES wrong passwords for one account from one address lock
that pair for LOGIN_LOCKOUT_MINUTES, even with the right password then; the account's owner elsewhere
still logs in (no lock-out-the-victim from one address), and staff unlock from the dashboard."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests import factories

pytestmark = pytest.mark.django_db
LOGIN = reverse("login")


@pytest.fixture(autouse=True)
def _five(settings):
    settings.AXES_FAILURE_LIMIT = 5


def _fail(client, email, times, ip="10.9.0.1", url=LOGIN):
    for _ in range(times):
        response = client.post(url, {"username": email, "password": "wrong-password"}, REMOTE_ADDR=ip)
    return response


def test_five_failures_lock_the_account_from_that_address_even_with_the_right_password(customer):
    client = Client()
    assert _fail(client, customer.email, 4).status_code == 200  # the form's error, not locked yet
    locked = _fail(client, customer.email, 1)
    assert locked.status_code == 429 and b"Too many failed logins" in locked.content
    right = client.post(LOGIN, {"username": customer.email, "password": factories.PASSWORD}, REMOTE_ADDR="10.9.0.1")
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    # The owner, from their own address, is not locked out by someone guessing elsewhere.
    owner = Client()
    ok = owner.post(LOGIN, {"username": customer.email, "password": factories.PASSWORD}, REMOTE_ADDR="10.9.0.2")
    assert ok.status_code == 302


def test_the_lock_counts_the_email_case_insensitively_and_ends_after_the_cool_off(customer, settings):
    client = Client()
    _fail(client, customer.email.upper(), 5)
    assert AccessAttempt.objects.get().username == customer.email.lower()
    right = {"username": customer.email, "password": factories.PASSWORD}
    assert client.post(LOGIN, right, REMOTE_ADDR="10.9.0.1").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=settings.AXES_COOLOFF_TIME, minutes=1))
    assert client.post(LOGIN, right, REMOTE_ADDR="10.9.0.1").status_code == 302


def test_the_api_token_endpoint_is_locked_too_with_429_and_a_code(customer):
    api = APIClient(REMOTE_ADDR="10.9.1.1")
    for _ in range(5):
        api.post(reverse("api-token"), {"username": customer.email, "password": "nope"}, format="json")
    response = api.post(reverse("api-token"), {"username": customer.email, "password": factories.PASSWORD})
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0 and "token" not in response.json()


def test_the_dashboard_login_is_locked_too(agent):
    response = _fail(Client(), agent.email, 5, url=reverse("admin:login"))
    assert response.status_code == 429


def test_a_supervisor_unlocks_an_account_from_the_dashboard(customer, supervisor):
    client = Client()
    _fail(client, customer.email, 5)
    attempt = AccessAttempt.objects.get()
    staff = Client()
    staff.force_login(supervisor)
    listing = staff.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and customer.email.encode() in listing.content
    deleted = staff.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert deleted.status_code == 302 and not AccessAttempt.objects.exists()
    right = {"username": customer.email, "password": factories.PASSWORD}
    assert client.post(LOGIN, right, REMOTE_ADDR="10.9.0.1").status_code == 302


def test_an_agent_cannot_unlock(agent):
    staff = Client()
    staff.force_login(agent)
    assert staff.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403
