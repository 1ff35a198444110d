"""CSRF on every portal form (issue 10). The URL patterns are walked, not listed: every pattern outside
the dashboard and the API is POSTed to by a signed-in customer with CSRF checks on. Without a token
each gets a 403 and changes nothing; with the token taken from a rendered page, a view that takes POST
must be in PORTAL_FORMS (so a new form, e.g. the registration and two-factor pages under /accounts/,
fails this test until it is listed here and thereby checked). The dashboard's forms and the API's
session authentication are checked on one example each."""

import io
import re

import pytest
from django.apps import apps
from django.contrib.auth import SESSION_KEY
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from PIL import Image
from rest_framework.test import APIClient

from aftersales.cases.models import Attachment, CaseEvent, Feedback, Notification
from tests import factories

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

# URL name → what taking POST there means. "form": a form the portal renders; "ignored": the view
# answers POST as it answers GET and writes nothing.
PORTAL_FORMS = {
    "set_language": "form",
    "login": "form",
    "logout": "form",
    "portal:home": "ignored",
    "portal:case-detail": "form",  # a message, or a step the customer may take
    "portal:case-feedback": "form",
    "portal:case-attachment-upload": "form",
    "portal:notification-list": "form",  # mark all read
    "returns:apply": "form",
    "returns:tracking": "form",
    "warranty:register-serial": "form",
    "warranty:claim": "form",
    "warranty:tracking": "form",
    "warranty:accept-quote": "form",
    "warranty:decline-quote": "form",
    "warranty:appeal": "form",
    "warranty:take-replacement": "form",
    "warranty:confirm-receipt": "form",
    "priceprotect:order": "form",
    "support:new": "form",
    "support:reply": "form",
    "kb:vote": "form",
    "kb:answered": "form",
    "register": "form",
    "register-sent": "ignored",
    "password_reset_done": "ignored",
    "register-confirm": "form",
    "password_reset": "form",
    "password_reset_confirm": "form",
    "two-factor": "form",
}


def portal_patterns():
    """(name, route) of every URL pattern but the dashboard's and the API's (and the API docs)."""

    def walk(patterns, prefix="", namespace=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                ns = ":".join(filter(None, [namespace, pattern.namespace]))
                yield from walk(pattern.url_patterns, route, ns)
            elif isinstance(pattern, URLPattern) and not route.startswith(("admin/", "api/")):
                yield ":".join(filter(None, [namespace, pattern.name])), route

    return sorted(set(walk(get_resolver().url_patterns)))


class World:
    """A customer with a signed-for order, an open return case with a photo, a closed ticket to rate,
    and a knowledge-base article; `path(route)` fills a route's parameters with them."""

    def __init__(self, customer):
        from techsupport.models import Article

        self.customer = customer
        self.order = factories.order_with_lines(customer=customer)
        self.line = self.order.lines.first()
        self.case = factories.open_case(customer=customer, order=self.order)
        self.article = Article.objects.create(
            slug="pairing", title="Pairing", kind=Article.Kind.values[0], body="Hold the button.", published=True
        )

    def path(self, route: str) -> str:
        values = {
            "number": self.order.number if route.startswith(("orders/", "price-protection/")) else self.case.number,
            "pk": "1",
            "line_id": str(self.line.pk),
            "product_id": str(self.line.product_id),
            "slug": self.article.slug,
            "token": "not-a-valid-link",  # the e-mailed links of registration and password reset
            "uidb64": "MQ",
        }
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)


def snapshot():
    """Row counts of every model of ours, and the cases' states: what a rejected POST must not change."""
    counts = {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label in {"cases", "returns", "warranty", "priceprotect", "techsupport", "finance", "accounts"}
    }
    from aftersales.cases.models import Case

    counts["case states"] = sorted(Case.objects.values_list("pk", "status", "version"))
    counts["unread"] = Notification.objects.filter(read_at__isnull=True).count()
    counts["language"] = list(apps.get_model("accounts.User").objects.values_list("preferred_language", flat=True))
    return counts


def signed_in(user) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get(reverse("portal:notification-list"))
    return client, TOKEN.search(page.content.decode()).group(1)


def test_every_portal_post_needs_the_token_and_every_post_taking_view_is_listed(customer):
    world = World(customer)
    patterns = portal_patterns()
    assert len(patterns) >= 30
    taking_post, refused = [], 0
    for name, route in patterns:
        url = world.path(route)
        client, token = signed_in(customer)
        before = snapshot()
        response = client.post(url, {"note": "x", "action": "note", "language": "zh-hans", "rating": "5"})
        assert response.status_code == 403, (name, url, response.status_code)
        assert snapshot() == before, name
        refused += 1
        response = client.post(url, {"csrfmiddlewaretoken": token})
        assert response.status_code != 403, (name, url)
        if response.status_code != 405:
            taking_post.append(name)
    unlisted = sorted(set(taking_post) - set(PORTAL_FORMS))
    assert not unlisted, f"views taking POST without an entry in PORTAL_FORMS: {unlisted}"
    gone = sorted(set(PORTAL_FORMS) - {name for name, _ in patterns})
    assert not gone, f"PORTAL_FORMS names no longer routed: {gone}"
    print(
        f"\nCSRF: {len(patterns)} portal URL patterns POSTed without a token ({refused} refused), "
        f"{len(taking_post)} take POST"
    )


def jpeg() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(buffer, format="JPEG")
    return SimpleUploadedFile("a.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_the_forms_work_with_the_token_of_the_page_that_renders_them(customer):
    """Each form's token from its own page; the POST then does what the form is for."""
    world = World(customer)
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    detail = reverse("portal:case-detail", args=[world.case.number])

    def token_from(url: str, action: str) -> str:
        page = client.get(url).content.decode()
        assert f'action="{action}"' in page or action == url, (url, action)
        return TOKEN.search(page).group(1)

    token = token_from(detail, detail)
    response = client.post(detail, {"csrfmiddlewaretoken": token, "action": "note", "note": "Hello"})
    assert response.status_code == 302 and CaseEvent.objects.filter(case=world.case, note="Hello").exists()

    upload = reverse("portal:case-attachment-upload", args=[world.case.number])
    token = token_from(detail, upload)
    assert client.post(upload, {"csrfmiddlewaretoken": token, "file": jpeg()}).status_code == 302
    assert Attachment.objects.filter(case=world.case).count() == 1

    notifications = reverse("portal:notification-list")
    factories.open_case(customer=customer)  # a notification to read, if opening sends one
    Notification.objects.create(user=customer, title="t")
    token = TOKEN.search(client.get(notifications).content.decode()).group(1)
    assert client.post(notifications, {"csrfmiddlewaretoken": token}).status_code == 302
    assert not Notification.objects.filter(user=customer, read_at__isnull=True).exists()

    vote = reverse("kb:vote", args=[world.article.slug])
    token = token_from(reverse("kb:article", args=[world.article.slug]), vote)
    assert client.post(vote, {"csrfmiddlewaretoken": token, "helpful": "yes"}).status_code in (200, 302)
    assert world.article.votes.count() == 1

    setlang = reverse("set_language")
    token = TOKEN.search(client.get(detail).content.decode()).group(1)
    assert client.post(setlang, {"csrfmiddlewaretoken": token, "language": "zh-hans", "next": "/"}).status_code == 302
    customer.refresh_from_db()
    assert customer.preferred_language == "zh-hans"

    logout = reverse("logout")
    token = TOKEN.search(client.get(detail).content.decode()).group(1)
    assert client.post(logout, {"csrfmiddlewaretoken": token}).status_code in (200, 302)
    assert SESSION_KEY not in client.session


def test_rating_a_closed_case_needs_the_token(customer, plain_flow):
    from aftersales.cases import services
    from aftersales.cases.models import CaseKind

    case = factories.open_case(customer=customer, kind=CaseKind.TICKET)
    services.transition(case=case, name="cancel", actor=customer)
    client, token = signed_in(customer)
    url = reverse("portal:case-feedback", args=[case.number])
    assert client.post(url, {"rating": "5"}).status_code == 403
    assert not Feedback.objects.exists()
    page = client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    token = TOKEN.search(page).group(1)
    assert client.post(url, {"csrfmiddlewaretoken": token, "rating": "5"}).status_code == 302
    assert Feedback.objects.get().rating == 5


def test_login_form_needs_the_token(customer):
    customer.set_password("a-long-password-1")
    customer.save()
    client = Client(enforce_csrf_checks=True)
    url = reverse("login")
    data = {"username": customer.email, "password": "a-long-password-1"}
    assert client.post(url, data).status_code == 403
    token = TOKEN.search(client.get(url).content.decode()).group(1)
    assert client.post(url, {**data, "csrfmiddlewaretoken": token}).status_code == 302
    assert int(client.session[SESSION_KEY]) == customer.pk


def test_a_dashboard_form_needs_the_token(supervisor, customer):
    """The case page's "add a note" form, as staff."""
    case = factories.open_case(customer=customer)
    client = Client(enforce_csrf_checks=True)
    client.force_login(supervisor)
    page = client.get(reverse("admin:cases_case_change", args=[case.pk])).content.decode()
    action = re.search(r'<form method="post" action="([^"]+)">', page[page.index("case-note") :]).group(1)
    assert client.post(action, {"note": "internal"}).status_code == 403
    assert not CaseEvent.objects.filter(case=case, note="internal").exists()
    token = TOKEN.search(page).group(1)
    assert client.post(action, {"note": "internal", "csrfmiddlewaretoken": token}).status_code == 302
    assert CaseEvent.objects.filter(case=case, note="internal").exists()


def test_api_calls_with_a_session_need_the_token_but_token_auth_does_not(customer):
    """DRF's SessionAuthentication enforces CSRF; an API token is not sent by browsers on their own."""
    case = factories.open_case(customer=customer)
    url = reverse("api-case-notes", args=[case.number])
    client, token = signed_in(customer)
    response = client.post(url, {"note": "by session"}, content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert not CaseEvent.objects.filter(note="by session").exists()
    response = client.post(url, {"note": "by session"}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201
    from rest_framework.authtoken.models import Token

    api = APIClient(enforce_csrf_checks=True)
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=customer).key}")
    assert api.post(url, {"note": "by token"}, format="json").status_code == 201
