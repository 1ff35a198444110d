"""Customer portal pages for cases: timeline, actions, messages, rating, notifications."""

import pytest
from django.urls import reverse

from aftersales.cases import services
from aftersales.cases.models import CaseEvent
from tests import factories

pytestmark = pytest.mark.django_db


def test_case_page_shows_status_labels_and_the_customers_own_actions(client, customer, agent):
    case = factories.open_case(customer=customer)
    services.transition(case=case, name="approve", actor=agent, note="Please use the prepaid label.")
    client.force_login(customer)
    page = client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    assert "Approved: awaiting your parcel" in page
    assert "Please use the prepaid label." in page
    assert "Cancel my request" in page and ">Approve<" not in page


def test_customer_cancels_from_the_portal_and_a_stale_form_is_refused(client, customer):
    case = factories.open_case(customer=customer)
    client.force_login(customer)
    url = reverse("portal:case-detail", args=[case.number])
    stale = client.post(url, {"action": "transition", "name": "cancel", "version": case.version + 5}, follow=True)
    assert "changed by someone else" in stale.content.decode()
    case.refresh_from_db()
    assert case.status == "submitted"
    client.post(url, {"action": "transition", "name": "cancel", "version": case.version})
    case.refresh_from_db()
    assert case.status == "cancelled"
    again = client.post(url, {"action": "transition", "name": "cancel", "version": case.version}, follow=True)
    assert "not possible in the case" in again.content.decode()


def test_customer_message_lands_on_the_timeline_and_internal_notes_stay_hidden(client, customer, agent):
    case = factories.open_case(customer=customer)
    services.add_note(case=case, actor=agent, note="Internal: courier claim filed", public=False)
    client.force_login(customer)
    url = reverse("portal:case-detail", args=[case.number])
    client.post(url, {"action": "note", "note": "The box was crushed <script>alert(1)</script>"})
    assert case.events.filter(type=CaseEvent.Type.NOTE, actor=customer, public=True).exists()
    page = client.get(url).content.decode()
    assert "The box was crushed" in page and "<script>alert(1)</script>" not in page
    assert "Internal: courier claim filed" not in page


def test_rating_form_appears_after_closing_and_validates(client, customer):
    case = factories.open_case(customer=customer)
    services.transition(case=case, name="cancel", actor=customer)
    client.force_login(customer)
    assert "How did we do?" in client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    url = reverse("portal:case-feedback", args=[case.number])
    assert client.post(url, {"rating": "7"}).status_code == 400
    assert client.post(url, {"rating": "5", "comment": "Fast"}).status_code == 302
    assert case.feedback.rating == 5


def test_notifications_page_lists_and_marks_read(client, customer, agent):
    case = factories.open_case(customer=customer)
    services.transition(case=case, name="approve", actor=agent)
    client.force_login(customer)
    page = client.get(reverse("portal:notification-list")).content.decode()
    assert case.number in page
    client.post(reverse("portal:notification-list"))
    assert not customer.notifications.filter(read_at__isnull=True).exists()


def test_a_link_in_a_notification_is_clickable_and_the_rest_stays_escaped(client, customer):
    """E.g. the price-drop notification's one-click claim link (R-PP-1)."""
    url = "http://127.0.0.1:8000/price-protection/SO00000042/"
    customer.notifications.create(title="Price drop", body=f"<b>Claim</b> it in one click:\n{url}")
    client.force_login(customer)
    page = client.get(reverse("portal:notification-list")).content.decode()
    assert f'<a href="{url}" rel="nofollow">{url}</a>' in page
    assert "&lt;b&gt;Claim&lt;/b&gt; it in one click:<br>" in page and "<b>Claim</b>" not in page
