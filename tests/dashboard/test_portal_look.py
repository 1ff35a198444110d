"""The portal layout: navigation, language switch, footer, messages; the log-in page."""

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def test_the_login_page_renders_the_form_and_its_errors(client):
    page = client.get(reverse("login")).text
    assert 'class="auth"' in page
    assert 'name="username"' in page and 'name="password"' in page
    assert 'action="/i18n/setlang/"' in page  # the language switch
    assert 'class="footer"' in page
    response = client.post(reverse("login"), {"username": "nobody@example.com", "password": "wrong"})
    assert response.status_code == 200
    assert "errorlist nonfield" in response.text


def test_a_customer_sees_the_portal_navigation_but_no_dashboard_link(client, customer):
    client.force_login(customer)
    page = client.get(reverse("portal:case-list")).text
    for name in ("portal:order-list", "portal:case-list", "portal:notification-list", "logout"):
        assert f'href="{reverse(name)}"' in page or f'action="{reverse(name)}"' in page, name
    assert 'aria-current="page"' in page
    assert reverse("admin:index") not in page
    assert customer.email in page  # the footer says who is signed in


def test_staff_get_a_link_to_the_dashboard(client):
    client.force_login(factories.StaffFactory(role="agent"))
    assert reverse("admin:index") in client.get(reverse("portal:case-list")).text


def test_the_stylesheet_has_the_shared_class_names():
    from django.contrib.staticfiles import finders

    with open(finders.find("css/portal.css"), encoding="utf-8") as css:
        text = css.read()
    for selector in (
        ".timeline",
        ".event",
        ".badge",
        ".card",
        ".muted",
        "table.list",
        ".errorlist",
        ".message",
        ".pagination",
    ):
        assert selector in text, selector
