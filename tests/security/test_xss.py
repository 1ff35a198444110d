"""XSS and injection through free text (issue 10). Table-driven: FIELDS lists every free-text field a
customer or an outside party (the storefront's ingest, the support mailbox) can set, plus the staff
texts customers read. The demo shop is seeded, every row's field is overwritten with a payload tagged
with the field, and every page that can show it is rendered: the portal (crawled from the home page as
the demo customer), the dashboard (every registered model's changelist and change forms, and the custom
dashboard pages, as a superuser), the API's browsable HTML, the printable label, and the e-mails we
send. No payload may appear raw; each must be found escaped at least once (so the test proves the
page really showed it)."""

import re
from collections import defaultdict
from io import StringIO
from urllib.parse import urljoin, urlsplit

import pytest
from django.apps import apps
from django.contrib import admin
from django.core import mail
from django.core.management import call_command
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from aftersales.accounts.models import User
from aftersales.cases import notifications
from aftersales.cases.models import Notification
from aftersales.insight import summary

pytestmark = pytest.mark.django_db

# (app_label.Model, field): the texts that reach pages from outside the staff, and staff texts shown
# to customers. Choice fields, numbers and our own identifiers are not free text.
FIELDS = [
    ("accounts.User", "full_name"),
    ("accounts.User", "phone"),
    ("accounts.User", "region"),
    ("cases.Case", "subject"),
    ("cases.CaseEvent", "note"),
    ("cases.Attachment", "original_name"),
    ("cases.Notification", "title"),
    ("cases.Notification", "body"),
    ("cases.Feedback", "comment"),
    ("cases.FollowUp", "reason"),
    ("cases.FollowUp", "outcome"),
    ("finance.Refund", "bank_account_name"),
    ("finance.Refund", "bank_name"),
    ("finance.Refund", "bank_account_number"),
    ("finance.Refund", "reason"),
    ("orders.Category", "name"),
    ("orders.Brand", "name"),
    ("orders.Product", "name"),
    ("orders.Order", "shipping_address"),
    ("orders.OrderLine", "product_name"),
    ("orders.Parcel", "carrier"),
    ("orders.Parcel", "tracking_number"),
    ("returns.ReturnRequest", "description"),
    ("returns.ReturnRequest", "carrier"),
    ("returns.ReturnRequest", "tracking_number"),
    ("returns.ReturnRequest", "inspection_notes"),
    ("warranty.Claim", "description"),
    ("warranty.Claim", "carrier"),
    ("warranty.Claim", "tracking_number"),
    ("warranty.Claim", "diagnosis_notes"),
    ("warranty.Claim", "exclusion_explanation"),
    ("warranty.Claim", "appeal_text"),
    ("warranty.Unit", "serial_number"),
    ("warranty.PartUsed", "name"),
    ("warranty.ServiceCentre", "name"),
    ("warranty.ServiceCentre", "address"),
    ("techsupport.CannedReply", "title"),
    ("techsupport.CannedReply", "body"),
    ("techsupport.Deflection", "query"),
    ("techsupport.Article", "title"),
    ("techsupport.Article", "summary"),
    ("techsupport.Article", "body"),
    ("techsupport.Release", "notes"),
]

# What must never appear in HTML: a tag or attribute we did not write, or a template we evaluated (a word,
# not a number: digits turn up by chance, e.g. in a Message-ID).
RAW = re.compile(r"<script>alert|<svg onload|<img src=x onerror|href=\"javascript:|tmplevaluated", re.IGNORECASE)


def payload(tag: str, max_length: int | None) -> str:
    """A payload naming its field; the short form fits 32-character fields."""
    if max_length is not None and max_length < 120:
        return f'"><svg onload=alert({tag})>'
    return (
        f'<script>alert("{tag}")</script>"><img src=x onerror=alert("{tag}")>'
        '{{ "tmpl"|add:"evaluated" }}javascript:alert(1)'
    )


def poison() -> dict[str, str]:
    """Every row's field in FIELDS overwritten with its payload; returns tag → payload."""
    planted = {}
    for index, (label, name) in enumerate(FIELDS):
        model = apps.get_model(label)
        field = model._meta.get_field(name)
        tag = f"x{index:02d}"
        text = payload(tag, field.max_length)
        planted[tag] = text
        rows = model.objects.all()
        if not rows.exists():
            continue
        if _unique(model, name):
            for pk in rows.values_list("pk", flat=True):
                model.objects.filter(pk=pk).update(**{name: f"{pk}{text}"[: field.max_length]})
        else:
            rows.update(**{name: text})
    return planted


def _unique(model, name: str) -> bool:
    together = [set(f) for f in model._meta.unique_together]
    together += [set(c.fields) for c in model._meta.constraints if isinstance(c, models.UniqueConstraint)]
    return model._meta.get_field(name).unique or any(name in fields for fields in together)


def escaped_tags(html: str, planted: dict[str, str]) -> set[str]:
    return {tag for tag, text in planted.items() if escape(text) in html or escape(text)[10:] in html}


class Crawl:
    def __init__(self, client, planted):
        self.client, self.planted = client, planted
        self.pages, self.leaks, self.errors, self.visited = 0, [], [], []
        self.seen_tags: dict[str, set] = defaultdict(set)

    def get(self, url: str, **extra) -> str | None:
        response = self.client.get(url, **extra)
        self.pages += 1
        self.visited.append((url, response.status_code))
        self.location = response.get("Location", "") if response.status_code in (301, 302) else ""
        if response.status_code >= 500:
            self.errors.append((url, response.status_code))
            return None
        if response.status_code != 200 or response.streaming:
            return None
        body = response.content.decode(errors="replace")
        if "html" not in response.get("Content-Type", ""):
            return body
        for match in RAW.finditer(body):
            self.leaks.append((url, body[max(match.start() - 80, 0) : match.end() + 80]))
        for tag in escaped_tags(body, self.planted):
            self.seen_tags[tag].add(url)
        return body


LINK = re.compile(r'(?:href|action)="([^"#?]*)"')
PORTAL_SKIP = re.compile(r"^/(admin|api|accounts/logout|static|media|i18n)/|\.pdf$|/file$|^/attachments/")
ADMIN_SKIP = re.compile(r"/(delete|history|add|logout|password|autocomplete|jsi18n)/|^/admin/r/")
OBJECT_PAGE = re.compile(r"^/admin/(\w+)/(\w+)/[^/]+/")


def crawl(crawl: Crawl, start: str, prefix: str, skip: re.Pattern, *, per_model: int = 3, limit: int = 700) -> None:
    """Breadth first over same-site links under `prefix`, at most `per_model` object pages per
    dashboard model (a changelist links to every row)."""
    queue, seen, per = [start], {start}, defaultdict(int)
    while queue and crawl.pages < limit:
        url = queue.pop(0)
        body = crawl.get(url)
        if crawl.location.startswith("/") and crawl.location not in seen:
            seen.add(crawl.location)
            queue.append(urlsplit(crawl.location).path)
        if not body:
            continue
        for href in LINK.findall(body):
            parts = urlsplit(urljoin(url, href.replace("&amp;", "&")))
            target = parts.path
            if parts.netloc or not target.startswith(prefix) or target in seen or skip.search(target):
                continue
            seen.add(target)
            if match := OBJECT_PAGE.match(target):
                per[match.groups()] += 1
                if per[match.groups()] > per_model:
                    continue
            queue.append(target)


def fill_gaps() -> None:
    """Rows the demo shop has none of: a follow-up, a registered serial number, a part used."""
    from aftersales.cases.models import FollowUp
    from warranty.models import Claim, PartUsed, Unit

    customer = User.objects.get(email="customer@demo.local")
    staff = User.objects.get(email="admin@demo.local")
    case = customer.cases.filter(closed_at__isnull=False).order_by("pk").first()
    FollowUp.objects.create(case=case, kind=FollowUp.Kind.CALL, created_at=timezone.now(), reason="r", outcome="o")
    line = customer.orders.filter(lines__isnull=False).order_by("pk").first().lines.order_by("pk").first()
    Unit.objects.create(order_line=line, serial_number="SN1", source=Unit.Source.values[0])
    claim = Claim.objects.order_by("-pk").first()  # the dashboard test opens the newest rows
    PartUsed.objects.create(claim=claim, name="part", added_by=staff)


@pytest.fixture
def planted():
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    fill_gaps()
    return poison()


def test_no_payload_renders_raw_in_the_portal_the_dashboard_or_the_api(client, planted):
    """Every page reachable by the demo customer, every dashboard page reachable by a superuser (three
    object pages per model), and the browsable API of every list and case/order detail endpoint."""
    customer = User.objects.get(email="customer@demo.local")
    client.force_login(customer)
    portal = Crawl(client, planted)
    crawl(portal, "/", "/", PORTAL_SKIP)
    for number in customer.cases.values_list("number", flat=True):
        portal.get(reverse("returns:label", args=[number]))  # the printable label (HTML); 404 if none
        response = client.get(reverse("returns:label-pdf", args=[number]))
        assert response.status_code < 500, number

    api = Crawl(client, planted)
    for url in _api_urls(customer):
        api.get(url, HTTP_ACCEPT="text/html")

    staff = User.objects.get(email="admin@demo.local")
    client.force_login(staff)
    dashboard = Crawl(client, planted)
    crawl(dashboard, "/admin/", "/admin/", ADMIN_SKIP)
    for model in admin.site._registry:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        dashboard.get(changelist + "?q=%3Cscript%3Ealert(1)%3C/script%3E")  # the search box echoes it
        for pk in model.objects.order_by("-pk").values_list("pk", flat=True)[:2]:
            dashboard.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk]))

    # E-mails: the notifications go as plain text only (no HTML part to inject into), one-line
    # subjects; the weekly summary's HTML part (product names) is escaped.
    mail.outbox.clear()
    Notification.objects.update(emailed_at=None)
    notifications.send_emails(list(Notification.objects.values_list("pk", flat=True)))
    assert mail.outbox
    for message in mail.outbox:
        assert message.content_subtype == "plain" and not getattr(message, "alternatives", [])
        assert "\n" not in message.subject
    weekly = summary.render(summary.last_week(timezone.localdate()), "en")
    ((html, _content_type),) = weekly.alternatives
    emails = Crawl(client, planted)
    for match in RAW.finditer(html):
        emails.leaks.append(("weekly summary", html[max(match.start() - 80, 0) : match.end() + 80]))

    everything = [portal, api, dashboard, emails]
    print(
        f"\nXSS: {len(FIELDS)} fields, pages rendered: portal {portal.pages}, API {api.pages}, "
        f"dashboard {dashboard.pages}, e-mails {len(mail.outbox) + 1}"
    )
    assert not [e for c in everything for e in c.errors], [e for c in everything for e in c.errors]
    assert not [leak for c in everything for leak in c.leaks], [leak for c in everything for leak in c.leaks][:10]
    seen = set().union(*(c.seen_tags.keys() for c in everything))
    missing = [FIELDS[int(tag[1:])] for tag in planted if tag not in seen]
    assert not missing, f"never shown, so never checked: {missing}"
    # The customer's own pages show their texts, escaped.
    assert {"x03", "x04", "x21"} <= set(portal.seen_tags)


def _api_urls(customer) -> list[str]:
    """The customer's GET endpoints: lists, and one detail of each kind."""
    urls = [reverse(name) for name in ("api-case-list", "api-order-list", "api-notification-list", "api-tickets")]
    urls += [reverse("api-priceprotect-claims")]
    order = customer.orders.order_by("pk").first().number
    urls += [reverse(name, args=[order]) for name in ("api-order-detail", "api-order-options", "api-warranty-coverage")]
    detail = {
        "return": "api-return-detail",
        "warranty": "api-warranty-claim",
        "price_protection": "api-priceprotect-claim",
        "ticket": "api-ticket",
    }
    for kind, number in customer.cases.order_by("pk").values_list("kind", "number"):
        urls.append(reverse("api-case-detail", args=[number]))
        if kind in detail:
            urls.append(reverse(detail.pop(kind), args=[number]))
    return urls


def test_a_subject_with_line_breaks_cannot_add_mail_headers(customer, agent, django_capture_on_commit_callbacks):
    """A ticket subject typed (or e-mailed) with CR/LF and a header after it: the case keeps one line,
    and every e-mail about it (the portal notification, the support desk's threaded reply) goes out
    with a one-line subject and no extra header, instead of failing with BadHeaderError."""
    from techsupport.models import Team
    from techsupport.services import tickets

    Team.objects.create(code="first-line", name="First line", tier=1).members.add(agent)
    Team.objects.create(code="technical", name="Technical support", tier=2)
    with django_capture_on_commit_callbacks(execute=True):
        case = tickets.open_ticket(
            customer=customer,
            actor=customer,
            subject="Broken\r\nBcc: victim@example.com\r\n\r\n<b>hi</b>",
            body="It fails.",
            category="usage",
        )
    assert case.subject == "Broken Bcc: victim@example.com <b>hi</b>"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        tickets.reply(case=case, actor=agent, body="Try again.")
        tickets.assign(case=case, actor=agent, assignee=agent)
    assert mail.outbox
    for message in mail.outbox:
        assert "\n" not in message.subject and "\r" not in message.subject
        assert "victim@example.com" not in message.recipients()
        assert "Bcc" not in str(message.message()).split("\n\n", 1)[0].replace("Bcc: victim", "")
