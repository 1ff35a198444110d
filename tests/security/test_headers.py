"""Security headers on every kind of page: a Content-Security-Policy with no inline script, frame denial,
referrer policy, no MIME sniffing, and HSTS only over HTTPS. The pages themselves must not need inline
scripts either, or the policy would break them: rendered pages and our templates are scanned for any."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib import admin
from django.urls import reverse

from tests import factories
from tests.test_settings import production_env, run_django

BASE_DIR = Path(__file__).resolve().parents[2]


def policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


class InlineCode(HTMLParser):
    """Collects inline <script> bodies and on…= event-handler attributes."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        self.found += [f"<{tag} {name}=…>" for name in names if name.startswith("on")]
        if tag == "script" and "src" not in names and names.get("type", "") not in ("application/json",):
            self._in_inline_script = True

    def handle_endtag(self, tag):
        self._in_inline_script = False if tag == "script" else self._in_inline_script

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.found.append(f"<script>{data.strip()[:60]}…")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def assert_headers(response):
    csp = policy(response)
    assert csp["script-src"] == ["'self'"], csp  # no 'unsafe-inline', no 'unsafe-eval', no hosts
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.fixture
def superuser(db):
    return factories.StaffFactory(role="supervisor", is_superuser=True)


def test_portal_pages_carry_the_headers_and_need_no_inline_script(client, customer):
    order = factories.order_with_lines(customer=customer)
    case = factories.open_case(customer=customer, order=order)
    assert_headers(client.get(reverse("login")))
    assert inline_code(client.get(reverse("login")).content.decode()) == []
    client.force_login(customer)
    for url in [
        reverse("portal:order-list"),
        reverse("returns:order-options", args=[order.number]),
        reverse("warranty:products"),
        reverse("priceprotect:list"),
        reverse("priceprotect:order", args=[order.number]),
        reverse("support:tickets"),
        reverse("support:new"),
        reverse("portal:order-detail", args=[order.number]),
        reverse("portal:case-list"),
        reverse("portal:case-detail", args=[case.number]),
        reverse("portal:notification-list"),
        reverse("portal:account"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_headers(response)
        assert inline_code(response.content.decode()) == [], url


def test_every_dashboard_list_and_form_needs_no_inline_script(client, superuser):
    client.force_login(superuser)
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_headers(response)
        assert inline_code(response.content.decode()) == [], url


def test_the_api_and_its_documentation_pages_carry_the_headers(client, customer):
    client.force_login(customer)
    assert_headers(client.get("/api/v1/orders/"))
    for url in ["/api/docs/", "/api/redoc/"]:
        page = client.get(url)
        assert page.status_code == 200
        assert_headers(page)
        assert inline_code(page.content.decode()) == [], url
        assert b"googleapis" not in page.content and b"cdn." not in page.content
    # Swagger UI's start-up script comes from the same view as a file: allowed by script-src 'self'.
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("application/javascript")


def test_our_templates_hold_no_inline_script_or_event_handler():
    offenders = []
    for template in BASE_DIR.glob("**/templates/**/*.html"):
        if ".venv" in template.parts:
            continue
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+\s*=", text):
            offenders.append(str(template.relative_to(BASE_DIR)))
    assert offenders == []


# Production settings in a clean subprocess: the real header set over HTTPS and plain HTTP.
PROBE = """
import json, django
from django.conf import settings
django.setup()
# No collectstatic here: plain static storage instead of the hashed manifest.
plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
settings.STORAGES = {**settings.STORAGES, "staticfiles": plain}
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
out = {}
for secure in (True, False):
    r = Client().get("/accounts/login/", secure=secure, headers={"host": "shop.example.com"})
    out["https" if secure else "http"] = {"status": r.status_code, "headers": dict(r.headers)}
print(json.dumps(out))
"""


def test_production_sends_hsts_over_https_and_redirects_plain_http(tmp_path):
    result = run_django(["-c", PROBE], production_env(), tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    https = seen["https"]["headers"]
    assert seen["https"]["status"] == 200
    assert https["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "script-src 'self';" in https["Content-Security-Policy"] + ";"
    assert https["X-Frame-Options"] == "DENY" and https["Referrer-Policy"] == "same-origin"
    assert seen["http"]["status"] == 301
    assert seen["http"]["headers"]["Location"] == "https://shop.example.com/accounts/login/"
    assert "Strict-Transport-Security" not in seen["http"]["headers"]


def test_hsts_is_off_when_https_is_off(client, db):
    assert "Strict-Transport-Security" not in client.get(reverse("login"), secure=True).headers
