"""Shared data for the dashboard tests: one row of every core model, and a page-form reader."""

import io
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from aftersales.cases import followups
from aftersales.cases import services as case_services
from aftersales.cases.attachments import add_attachment
from aftersales.orders.models import Parcel, PriceChange, Storefront
from tests import factories


def photo() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (20, 120, 200)).save(buffer, format="PNG")
    return SimpleUploadedFile("parcel.png", buffer.getvalue(), content_type="image/png")


@pytest.fixture
def superuser(db):
    return factories.StaffFactory(is_superuser=True, role="supervisor")


@pytest.fixture
def populated(db, customer):
    """At least one row in every model the core apps register, so change pages have data."""
    storefront = Storefront.objects.create(name="Main shop", token_sha256="0" * 64, token_hint="abcd1234")
    order = factories.order_with_lines(customer=customer, storefront=storefront)
    product = order.lines.get().product
    PriceChange.objects.create(product=product, price=Decimal("1799.00"), effective_at=timezone.now())
    Parcel.objects.create(order=order, carrier="SF", tracking_number="SF100200300", shipped_at=order.placed_at)
    open_case = factories.open_case(customer=customer, order=order, note="Screen cracked")
    add_attachment(case=open_case, uploaded_by=customer, upload=photo())
    closed = factories.open_case(customer=customer, order=order)
    for step in ("approve", "receive", "pass_inspection", "complete"):
        closed = case_services.transition(case=closed, name=step)
    case_services.leave_feedback(case=closed, customer=customer, rating=5, comment="Quick")
    # R-FB-1: a follow-up call on the rated case, and a supervisor task from a low rating.
    followups.log_follow_up_call(
        case=closed, actor=factories.StaffFactory(role="agent"), outcome="Happy with the refund", rating_confirmed=True
    )
    low = case_services.transition(
        case=factories.open_case(customer=customer, order=order), name="cancel", actor=customer
    )
    case_services.leave_feedback(case=low, customer=customer, rating=1, reason="policy", comment="Why cancel?")
    return {"order": order, "case": open_case, "closed": closed}


@pytest.fixture
def due_case(db, customer):
    return factories.open_case(
        customer=customer, deadline_at=timezone.now() + timedelta(hours=2), deadline_action="expire_unshipped"
    )


class _FormReader(HTMLParser):
    """Collects what a browser would submit from the page's form with the given id."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.data = form_id, False, {}
        self._textarea = self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data[name] = attrs.get("value", "on")
            else:
                self.data[name] = attrs.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def form_data(html: str, form_id: str) -> dict:
    reader = _FormReader(form_id)
    reader.feed(html)
    return reader.data
