"""Staff two-factor authentication (STAFF_TWO_FACTOR, django-otp TOTP): after the password, staff enter
a code of their authenticator app before any dashboard page or staff API; those without a device enrol
one first (QR code and key, confirmed with a code). Customers are not concerned."""

import re
import time

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from tests import factories

pytestmark = pytest.mark.django_db
TWO_FACTOR = reverse("two-factor")


def code(device, ahead: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + ahead * device.step
    return f"{totp.token():06d}"


@pytest.fixture
def device(agent):
    return TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)


def test_an_unverified_staff_session_reaches_neither_the_dashboard_nor_the_staff_api(two_factor, agent):
    client = Client()
    client.force_login(agent)
    page = client.get(reverse("admin:index"))
    assert page.status_code == 302 and page.url.startswith(TWO_FACTOR) and "next=/admin/" in page.url
    api = client.get(reverse("api-tickets"))
    assert api.status_code == 403 and api.json()["code"] == "two_factor_required"


def test_customers_are_not_asked_for_a_code(two_factor, customer):
    client = Client()
    client.force_login(customer)
    assert client.get(reverse("api-tickets")).status_code == 200
    assert client.get(reverse("portal:case-list")).status_code == 200
    assert client.get(reverse("two-factor")).status_code == 404


def test_password_then_code_through_the_login_page_a_wrong_code_is_refused(two_factor, agent, device, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's growing delay after a wrong code is not the subject
    client = Client()
    response = client.post(
        reverse("login"), {"username": agent.email, "password": factories.PASSWORD, "next": "/admin/"}, follow=True
    )
    assert response.redirect_chain[-1][0].startswith(TWO_FACTOR) and b"secret" not in response.content.lower()
    assert response.context["enrolling"] is False
    wrong = client.post(TWO_FACTOR, {"code": f"{(int(code(device)) + 1) % 1_000_000:06d}", "next": "/admin/"})
    assert wrong.status_code == 400 and client.get("/admin/").status_code == 302
    right = client.post(TWO_FACTOR, {"code": code(device), "next": "/admin/"})
    assert right.status_code == 302 and right.url == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get(reverse("api-tickets")).status_code == 200


def test_a_code_used_once_is_refused_the_second_time(two_factor, agent, device):
    used = code(device)
    first = Client()
    first.force_login(agent)
    assert first.post(TWO_FACTOR, {"code": used}).status_code == 302
    second = Client()
    second.force_login(agent)
    replay = second.post(TWO_FACTOR, {"code": used})
    assert replay.status_code == 400 and second.get("/admin/").status_code == 302


def test_staff_without_a_device_enrol_with_the_qr_code_and_key_shown_until_confirmed(two_factor, agent):
    client = Client()
    client.force_login(agent)
    page = client.get(TWO_FACTOR)
    assert page.context["enrolling"] and page.context["qr"].startswith("<svg") and "<script" not in page.context["qr"]
    key = page.context["secret"]
    assert key.encode() in page.content
    unconfirmed = TOTPDevice.objects.get(user=agent, confirmed=False)
    assert client.get(TWO_FACTOR).context["secret"] == key  # the same device until confirmed
    confirmed = client.post(TWO_FACTOR, {"code": code(unconfirmed), "next": "/admin/"})
    assert confirmed.status_code == 302 and confirmed.url == "/admin/"
    assert TOTPDevice.objects.get(user=agent).confirmed
    # Next login: a code is asked, the key is never shown again.
    again = Client()
    again.force_login(agent)
    later = again.get(TWO_FACTOR)
    assert later.context["enrolling"] is False and key.encode() not in later.content


def test_staff_api_tokens_need_a_code_customers_do_not(two_factor, agent, device, customer):
    api = APIClient()
    url = reverse("api-token")
    without = api.post(url, {"username": agent.email, "password": factories.PASSWORD}, format="json")
    assert without.status_code == 400 and "otp_token" in without.json()["fields"]
    with_code = api.post(
        url, {"username": agent.email, "password": factories.PASSWORD, "otp_token": code(device)}, format="json"
    )
    assert with_code.status_code == 200 and re.fullmatch(r"[0-9a-f]{40}", with_code.json()["token"])
    plain = api.post(url, {"username": customer.email, "password": factories.PASSWORD}, format="json")
    assert plain.status_code == 200


def test_logout_stays_reachable_before_the_code(two_factor, agent):
    client = Client()
    client.force_login(agent)
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session
