"""Password rules: AUTH_PASSWORD_VALIDATORS (length, common, numeric, like the account's details) hold
wherever a password is set: Create account, the reset link, and the dashboard's user creation and
password change. Each refusal is a form error on the password field."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from aftersales.accounts.models import PendingRegistration, User
from tests import factories

pytestmark = pytest.mark.django_db

WEAK = {
    "short": "k9#x",
    "common": "password123",
    "numeric": "73918264051",
    "like the e-mail": "lin.mei.chen@example.com",
}


@pytest.mark.parametrize("kind", WEAK)
def test_create_account_refuses_a_weak_password_with_a_clear_error(kind):
    password = WEAK[kind]
    data = {"email": "lin.mei.chen@example.com", "full_name": "Lin", "password1": password, "password2": password}
    response = Client().post(reverse("register"), data)
    assert response.status_code == 400 and response.context["form"].errors["password1"]
    assert not PendingRegistration.objects.exists()


def test_create_account_refuses_two_different_passwords():
    data = {
        "email": "a@example.com",
        "full_name": "A",
        "password1": "river-stone-lamp-8",
        "password2": "river-stone-lamp-9",
    }
    response = Client().post(reverse("register"), data)
    assert response.status_code == 400 and "not the same" in str(response.context["form"].errors["password2"])


@pytest.mark.parametrize("kind", WEAK)
def test_the_reset_link_refuses_a_weak_password(kind, mailoutbox, django_capture_on_commit_callbacks):
    user = factories.CustomerFactory(email="lin.mei.chen@example.com")
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset"), {"email": user.email})
    link = re.findall(r"https?://\S+", mailoutbox[0].body)[0].replace("http://127.0.0.1:8000", "")
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": WEAK[kind], "new_password2": WEAK[kind]})
    assert response.status_code == 200 and response.context["form"].errors["new_password2"]
    user.refresh_from_db()
    assert user.check_password(factories.PASSWORD)


@pytest.mark.parametrize("kind", WEAK)
def test_the_dashboard_refuses_a_weak_password_for_a_new_user(kind):
    admin = factories.StaffFactory(is_superuser=True)
    client = Client()
    client.force_login(admin)
    data = {
        "email": "lin.mei.chen@example.com",
        "full_name": "Lin",
        "usable_password": "true",
        "password1": WEAK[kind],
        "password2": WEAK[kind],
    }
    response = client.post(reverse("admin:accounts_user_add"), data)
    assert response.status_code == 200 and response.context["adminform"].form.errors["password2"]
    assert not User.objects.filter(email="lin.mei.chen@example.com").exists()
    good = client.post(
        reverse("admin:accounts_user_add"),
        {**data, "password1": "quiet-harbour-lights-5", "password2": "quiet-harbour-lights-5"},
    )
    assert good.status_code == 302 and User.objects.get(email="lin.mei.chen@example.com").check_password(
        "quiet-harbour-lights-5"
    )


def test_the_dashboard_refuses_a_weak_password_change(supervisor):
    admin = factories.StaffFactory(is_superuser=True)
    client = Client()
    client.force_login(admin)
    url = reverse("admin:auth_user_password_change", args=[supervisor.pk])
    response = client.post(url, {"password1": "password123", "password2": "password123", "usable_password": "true"})
    assert response.status_code == 200 and response.context["form"].errors
    supervisor.refresh_from_db()
    assert supervisor.check_password(factories.PASSWORD)
