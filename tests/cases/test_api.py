"""The cases API: one error shape, customers see only their own cases, services do the writes."""

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from aftersales.cases import selectors, services
from aftersales.cases.api import CaseDetailOutput
from aftersales.cases.attachments import add_attachment
from aftersales.cases.models import Case, CaseKind, Feedback
from tests import factories
from tests.cases.test_attachments import photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_anonymous_gets_401_with_the_error_shape(api):
    response = api.get(reverse("api-case-list"))
    assert response.status_code == 401
    assert set(response.json()) == {"code", "detail", "fields"}
    assert response.json()["code"] == "not_authenticated"


def test_customer_lists_only_own_cases_and_foreign_case_is_404(api, customer, other_customer):
    mine = factories.open_case(customer=customer)
    theirs = factories.open_case(customer=other_customer)
    api.force_authenticate(customer)
    numbers = [c["number"] for c in api.get(reverse("api-case-list")).json()["results"]]
    assert numbers == [mine.number]
    for name in ("api-case-detail", "api-case-transition", "api-case-notes", "api-case-feedback"):
        method = api.get if name == "api-case-detail" else api.post
        response = method(reverse(name, args=[theirs.number]), {"name": "cancel", "note": "x", "rating": 5})
        assert response.status_code == 404, name
        assert response.json()["code"] == "not_found"


def test_portal_foreign_case_is_404(client, customer, other_customer):
    theirs = factories.open_case(customer=other_customer)
    client.force_login(customer)
    assert client.get(reverse("portal:case-detail", args=[theirs.number])).status_code == 404
    mine = factories.open_case(customer=customer)
    page = client.get(reverse("portal:case-detail", args=[mine.number]))
    assert page.status_code == 200 and mine.number in page.content.decode()
    listing = client.get(reverse("portal:case-list")).content.decode()
    assert mine.number in listing and theirs.number not in listing


def test_customer_sees_public_timeline_only_and_the_cancel_action(api, customer, agent, plain_flow):
    case = factories.open_case(customer=customer)
    services.add_note(case=case, actor=agent, note="internal: check fraud score", public=False)
    api.force_authenticate(customer)
    body = api.get(reverse("api-case-detail", args=[case.number])).json()
    assert [e["type"] for e in body["events"]] == ["opened"]
    assert body["available_transitions"] == ["cancel"]
    api.force_authenticate(agent)
    body = api.get(reverse("api-case-detail", args=[case.number])).json()
    assert [e["type"] for e in body["events"]] == ["opened", "note"]
    # A return's staff steps are its own endpoints (they set deadlines, queue refunds…), not here.
    assert body["available_transitions"] == []
    plain = factories.open_case(customer=customer, kind=CaseKind.TICKET)
    body = api.get(reverse("api-case-detail", args=[plain.number])).json()
    assert set(body["available_transitions"]) == {"accept", "reject"}


def test_a_kinds_own_staff_steps_are_refused_through_the_generic_api(api, customer, agent):
    case = factories.open_case(customer=customer)
    api.force_authenticate(agent)
    refused = api.post(reverse("api-case-transition", args=[case.number]), {"name": "approve"})
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    case.refresh_from_db()
    assert case.status == "submitted"
    api.force_authenticate(customer)  # the customer's own steps stay generic
    cancelled = api.post(reverse("api-case-transition", args=[case.number]), {"name": "cancel"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def test_transition_over_the_api_and_conflict_codes(api, customer, agent, plain_flow):
    case = factories.open_case(customer=customer, kind=CaseKind.TICKET)
    api.force_authenticate(agent)
    url = reverse("api-case-transition", args=[case.number])
    assert api.post(url, {"name": "accept"}).json()["status"] == "accepted"
    again = api.post(url, {"name": "accept"})
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    missing = api.post(url, {})
    assert missing.status_code == 400 and "name" in missing.json()["fields"]
    api.force_authenticate(customer)
    forbidden = api.post(url, {"name": "receive"})
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "permission_denied"


def test_feedback_once_per_closed_case_with_field_errors(api, customer):
    """R-FB-1: a closed case is rated once, 1–5."""
    case = factories.open_case(customer=customer, kind=CaseKind.RETURN)
    api.force_authenticate(customer)
    url = reverse("api-case-feedback", args=[case.number])
    assert api.post(url, {"rating": 5}).status_code == 400  # still open
    services.transition(case=case, name="cancel", actor=customer)
    bad = api.post(url, {"rating": 9})
    assert bad.status_code == 400 and "rating" in bad.json()["fields"]
    assert api.post(url, {"rating": 4, "comment": "Quick"}).status_code == 201
    assert api.post(url, {"rating": 5}).status_code == 400
    assert Feedback.objects.get(case=case).rating == 4


def test_notifications_list_and_mark_read(api, customer, agent):
    case = factories.open_case(customer=customer)
    services.transition(case=case, name="approve", actor=agent)
    api.force_authenticate(customer)
    items = api.get(reverse("api-notification-list")).json()["results"]
    assert len(items) == 1 and items[0]["case"] == case.number and items[0]["read_at"] is None
    assert api.post(reverse("api-notifications-read"), {}, format="json").json() == {"marked": 1}
    assert api.get(reverse("api-notification-list")).json()["results"][0]["read_at"] is not None


def test_marking_notifications_read_refuses_ids_no_database_holds(api, customer):
    """Found by the API fuzz test: an id past 2**63 overflowed the database driver (a 500)."""
    api.force_authenticate(customer)
    response = api.post(reverse("api-notifications-read"), {"ids": [2**63, 1]}, format="json")
    assert response.status_code == 400 and list(response.json()["fields"]) == ["ids.0"]
    assert api.post(reverse("api-notifications-read"), {"ids": [1] * 1001}, format="json").status_code == 400


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/cases/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content.lower()
    assert b"cdn" not in docs.content.lower()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_case_detail_is_what_its_serializer_gives(api, customer, agent, plain_flow, language):
    """The detail is built without CaseDetailOutput (tests the two agree: fields, their order, formats),
    for the customer and for staff, with an order or none, a deadline, photos, notes and a closed case."""
    with_order = factories.open_case(
        customer=customer, kind=CaseKind.TICKET, order=factories.order_with_lines(customer=customer)
    )
    Case.objects.filter(pk=with_order.pk).update(deadline_at=timezone.now() + timedelta(days=2), deadline_action="x")
    add_attachment(case=with_order, uploaded_by=customer, upload=photo())
    services.add_note(case=with_order, actor=agent, note="internal: check the serial", public=False)
    services.add_note(case=with_order, actor=customer, note="It still rattles.", public=True)
    closed = factories.open_case(customer=customer, kind=CaseKind.TICKET)
    services.transition(case=closed, name="reject", actor=agent, note="Not ours.")
    bodies = {}
    for user in (customer, agent):
        api.force_authenticate(user)
        for case in (with_order, closed):
            body = api.get(reverse("api-case-detail", args=[case.number]), HTTP_ACCEPT_LANGUAGE=language).json()
            with translation.override(language):
                case = selectors.case_detail_queryset(user).get(pk=case.pk)
                expected = CaseDetailOutput(case, context={"request": SimpleNamespace(user=user)}).data
            assert list(body.items()) == list(json.loads(json.dumps(expected)).items())
            bodies[user, case.pk] = body
    seen_by_staff = bodies[agent, with_order.pk]
    assert seen_by_staff["order"] and seen_by_staff["deadline_at"] and len(seen_by_staff["attachments"]) == 1
    assert len(seen_by_staff["events"]) > len(bodies[customer, with_order.pk]["events"])  # the internal note
    assert bodies[customer, closed.pk]["closed_at"] and bodies[customer, closed.pk]["order"] is None
