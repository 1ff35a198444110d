"""The demo keeps working with STAFF_TWO_FACTOR: seed_demo gives staff logins a device with the published
demo key, and `manage.py totp_code EMAIL` prints its current code (demo devices only)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from aftersales.accounts.demo import DEMO_TOTP_KEY, ensure_demo_device

pytestmark = pytest.mark.django_db


def test_totp_code_prints_a_code_the_two_factor_page_accepts(two_factor, agent):
    ensure_demo_device(agent)
    out = StringIO()
    call_command("totp_code", agent.email.upper(), stdout=out, stderr=StringIO())
    client = Client()
    client.force_login(agent)
    response = client.post(reverse("two-factor"), {"code": out.getvalue().strip(), "next": "/admin/"})
    assert response.status_code == 302 and client.get("/admin/").status_code == 200


def test_totp_code_refuses_a_real_device(agent):
    TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    with pytest.raises(CommandError):
        call_command("totp_code", agent.email, stdout=StringIO())
    assert not TOTPDevice.objects.filter(key=DEMO_TOTP_KEY).exists()
