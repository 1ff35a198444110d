"""Rate limits (README "Accounts security"): login per IP and per account (portal, dashboard, API token),
registration and password reset per IP and per e-mail, case creation and price-protection claims per
customer (API and portal share the counter). Over the limit: the API answers 429 with Retry-After and
code `rate_limited`; the portal shows the message on the form. Rates are per day here so that a
window boundary (django-ratelimit's windows are fixed) never falls inside a test."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests import factories

pytestmark = pytest.mark.django_db
LOGIN = reverse("login")
TOKEN = reverse("api-token")


def _login(client, email, password="wrong-password", ip="10.0.0.1"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=ip)


def _refused_for_rate(response) -> bool:
    return any("Too many login attempts" in str(e) for e in response.context["form"].non_field_errors())


def test_login_is_limited_per_ip_even_with_the_right_password_then(limits, customer):
    limits.RATELIMIT_LOGIN = "3/d"
    client = Client()
    for n in range(3):
        assert not _refused_for_rate(_login(client, f"guess{n}@example.com"))
    blocked = _login(client, customer.email, factories.PASSWORD)
    assert blocked.status_code == 200 and _refused_for_rate(blocked)
    assert "_auth_user_id" not in client.session
    # Another address is not concerned.
    assert _login(client, customer.email, factories.PASSWORD, ip="10.0.0.2").status_code == 302


def test_login_is_limited_per_account_across_addresses(limits, customer):
    limits.RATELIMIT_LOGIN = "3/d"
    client = Client()
    for n in range(3):
        _login(client, customer.email.upper(), ip=f"10.1.0.{n}")
    assert _refused_for_rate(_login(client, customer.email, factories.PASSWORD, ip="10.1.0.9"))


def test_dashboard_login_counts_against_the_same_limit(limits, agent):
    limits.RATELIMIT_LOGIN = "2/d"
    client = Client()
    url = reverse("admin:login")
    for _ in range(2):
        client.post(url, {"username": agent.email, "password": "nope"}, REMOTE_ADDR="10.2.0.1")
    page = client.post(url, {"username": agent.email, "password": factories.PASSWORD}, REMOTE_ADDR="10.2.0.1")
    assert page.status_code == 200 and b"Too many login attempts" in page.content


def test_api_token_endpoint_answers_429_with_retry_after_and_a_code(limits, customer):
    limits.RATELIMIT_LOGIN = "2/d"
    api = APIClient()
    for _ in range(2):
        assert api.post(TOKEN, {"username": customer.email, "password": "nope"}, format="json").status_code == 400
    response = api.post(TOKEN, {"username": customer.email, "password": factories.PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited" and response.json()["detail"]
    assert 0 < int(response["Retry-After"]) <= 86400


def test_limits_off_lets_everything_through(settings, customer):
    settings.RATELIMIT_ENABLED = False
    settings.RATELIMIT_LOGIN = "1/d"
    api = APIClient()
    for _ in range(3):
        api.post(TOKEN, {"username": "x@example.com", "password": "nope"}, format="json")
    assert api.post(TOKEN, {"username": customer.email, "password": factories.PASSWORD}).status_code == 200


def _register(client, email, ip):
    data = {
        "email": email,
        "full_name": "A",
        "password1": "lantern-by-the-sea-91",
        "password2": "lantern-by-the-sea-91",
    }
    return client.post(reverse("register"), data, REMOTE_ADDR=ip)


def test_registration_is_limited_per_ip_and_per_email(limits):
    limits.RATELIMIT_REGISTER = "2/d"
    client = Client()
    assert _register(client, "a@example.com", "10.3.0.1").status_code == 302
    assert _register(client, "b@example.com", "10.3.0.1").status_code == 302
    assert _register(client, "c@example.com", "10.3.0.1").status_code == 429  # the address
    assert _register(client, "a@example.com", "10.3.0.2").status_code == 302
    blocked = _register(client, "a@example.com", "10.3.0.3")  # the e-mail, from a third address
    assert blocked.status_code == 429 and b"Too many requests" in blocked.content


def test_password_reset_is_limited_per_email(limits, customer):
    limits.RATELIMIT_PASSWORD_RESET = "2/d"
    client = Client()
    for n in range(2):
        assert (
            client.post(reverse("password_reset"), {"email": customer.email}, REMOTE_ADDR=f"10.4.0.{n}").status_code
            == 302
        )
    blocked = client.post(reverse("password_reset"), {"email": customer.email}, REMOTE_ADDR="10.4.0.9")
    assert blocked.status_code == 429


TICKET = {"subject": "Screen flickers", "body": "Since the update.", "category": "fault"}


def test_case_creation_is_limited_per_customer_across_api_and_portal(limits, customer, other_customer):
    from aftersales.cases.models import Case

    limits.RATELIMIT_CASE_CREATE = "3/d"
    api = APIClient()
    api.force_authenticate(customer)
    for _ in range(2):
        assert api.post(reverse("api-tickets"), TICKET, format="json").status_code == 201
    portal = Client()
    portal.force_login(customer)
    assert portal.post(reverse("support:new"), TICKET).status_code == 302  # the third, by the portal
    refused = api.post(reverse("api-tickets"), TICKET, format="json")
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited" and refused["Retry-After"]
    page = portal.post(reverse("support:new"), TICKET)
    assert page.status_code != 302 and b"You have opened many requests" in page.content
    assert Case.objects.filter(customer=customer).count() == 3
    # Another customer has their own counter.
    other = APIClient()
    other.force_authenticate(other_customer)
    assert other.post(reverse("api-tickets"), TICKET, format="json").status_code == 201


def test_staff_opening_cases_for_customers_are_not_limited(limits, agent, customer):
    limits.RATELIMIT_CASE_CREATE = "1/d"
    api = APIClient()
    api.force_authenticate(agent)
    for _ in range(3):
        response = api.post(
            reverse("api-tickets"), {**TICKET, "customer": customer.pk, "channel": "phone"}, format="json"
        )
        assert response.status_code == 201, response.json()


def test_price_protection_claims_are_limited_per_customer(limits, customer):
    """A claim the policy refuses still counts (the limit is about requests, not outcomes)."""
    limits.RATELIMIT_CLAIM = "2/d"
    order = factories.OrderFactory(customer=customer)
    api = APIClient()
    api.force_authenticate(customer)
    url = reverse("api-priceprotect-claims")
    for _ in range(2):
        assert api.post(url, {"order": order.number}, format="json").status_code == 400
    response = api.post(url, {"order": order.number}, format="json")
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"
    portal = Client()
    portal.force_login(customer)
    page = portal.post(reverse("priceprotect:order", args=[order.number]))
    assert page.status_code == 429 and b"You have filed many claims" in page.content
