"""Support configuration in the dashboard: teams, SLA policies (conditions ticked, stored as JSON
lists), canned replies (placeholders checked and previewed), the settings row, and the read-only
SLA alerts and e-mail messages."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from techsupport.models import CannedReply, MailMessage, SlaAlert, SlaPolicy, SupportSettings, Team
from tests import factories

pytestmark = pytest.mark.django_db

POLICY = {
    "name": "VIP urgent",
    "position": "10",
    "active": "on",
    "categories": ["fault", "firmware"],
    "priorities": ["urgent"],
    "customer_tiers": ["vip", "plus"],
    "first_response_minutes": "15",
    "next_response_minutes": "",
    "resolution_minutes": "240",
}


def test_a_supervisor_writes_an_sla_policy_with_ticked_conditions(client, supervisor):
    client.force_login(supervisor)
    add = reverse("admin:techsupport_slapolicy_add")
    page = client.get(add).text
    assert 'type="checkbox" name="categories" value="fault"' in page
    response = client.post(add, POLICY)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    policy = SlaPolicy.objects.get(name="VIP urgent")
    assert (policy.categories, policy.priorities, policy.customer_tiers) == (
        ["fault", "firmware"],
        ["urgent"],
        ["vip", "plus"],
    )
    assert (policy.first_response_minutes, policy.next_response_minutes, policy.resolution_minutes) == (15, None, 240)
    listing = client.get(reverse("admin:techsupport_slapolicy_changelist")).text
    assert "Technical fault, Software/firmware upgrade" in listing and "VIP, Plus member" in listing
    assert "first 15 · next - · resolution 240" in listing
    # The change page shows the stored lists ticked.
    page = client.get(reverse("admin:techsupport_slapolicy_change", args=[policy.pk])).text
    assert 'name="priorities" value="urgent" id="id_priorities_3" checked' in page


def test_an_sla_policy_with_no_condition_matches_every_ticket(client, supervisor):
    client.force_login(supervisor)
    data = {**POLICY, "name": "Everyone", "categories": [], "priorities": [], "customer_tiers": []}
    assert client.post(reverse("admin:techsupport_slapolicy_add"), data).status_code == 302
    policy = SlaPolicy.objects.get(name="Everyone")
    assert (policy.categories, policy.priorities, policy.customer_tiers) == ([], [], [])
    assert "Every ticket" in client.get(reverse("admin:techsupport_slapolicy_changelist")).text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"categories": ["nonsense"]}, "categories", "Select a valid choice. nonsense is not one of the available"),
        ({"resolution_minutes": "10"}, "resolution_minutes", "cannot be shorter than the first response target"),
        ({"first_response_minutes": "0"}, None, "Targets are at least one minute."),
    ],
)
def test_an_sla_policy_is_validated(client, supervisor, changes, field, message):
    client.force_login(supervisor)
    response = client.post(reverse("admin:techsupport_slapolicy_add"), {**POLICY, **changes})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(str(e) for e in errors.get(field or "__all__", [])), errors
    assert not SlaPolicy.objects.exists()


def test_agents_read_the_configuration_but_do_not_change_it(client, agent):
    client.force_login(agent)
    for name in ("team", "slapolicy", "cannedreply", "slaalert", "mailmessage"):
        assert client.get(reverse(f"admin:techsupport_{name}_changelist")).status_code == 200, name
    for name in ("team", "slapolicy", "cannedreply"):
        assert client.get(reverse(f"admin:techsupport_{name}_add")).status_code == 403, name
    assert client.get(reverse("admin:techsupport_supportsettings_changelist")).status_code == 403


def test_canned_replies_check_their_placeholders_and_preview_them(client, supervisor):
    client.force_login(supervisor)
    add = reverse("admin:techsupport_cannedreply_add")
    data = {"title": "Reset", "body": "Hi {customer}, {nmuber}", "category": "", "then": "ask_customer", "active": "on"}
    response = client.post(add, data)
    assert response.status_code == 200
    assert "Unknown placeholder(s): {nmuber}." in str(response.context["adminform"].form.errors["body"])
    response = client.post(add, {**data, "body": "Hi {customer}, about {number}. {agent}"})
    assert response.status_code == 302
    reply = CannedReply.objects.get(title="Reset")
    assert reply.then == "ask_customer"
    page = client.get(reverse("admin:techsupport_cannedreply_change", args=[reply.pk])).text
    assert "Hi Li Wei, about TKT-20260304-000042. Zhang Min" in page  # the preview
    assert "{customer}, {number}, {order}, {product}, {agent}" in page  # the help text


def test_teams_take_staff_members_and_a_lead(client, supervisor, agent, customer):
    client.force_login(supervisor)
    add = reverse("admin:techsupport_team_add")
    page = client.get(add).text
    assert "selectfilter" in page.lower() or "SelectFilter" in page  # filter_horizontal
    response = client.post(add, {"code": "l2", "name": "Level 2", "tier": "2", "lead": agent.pk, "members": [agent.pk]})
    assert response.status_code == 302
    team = Team.objects.get(code="l2")
    assert list(team.members.all()) == [agent] and team.lead == agent
    refused = client.post(add, {"code": "l3", "name": "Level 3", "tier": "2", "members": [customer.pk]})
    assert "members" in refused.context["adminform"].form.errors  # customers are not staff
    assert "1" in client.get(reverse("admin:techsupport_team_changelist")).text


def test_the_settings_row_is_added_once_and_never_deleted():
    request = RequestFactory().get("/")
    request.user = factories.StaffFactory(is_superuser=True)
    model_admin = admin.site._registry[SupportSettings]
    assert model_admin.has_add_permission(request)
    row = SupportSettings.current()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request, row)


def test_a_supervisor_changes_the_settings(client, supervisor):
    SupportSettings.current()
    client.force_login(supervisor)
    url = reverse("admin:techsupport_supportsettings_change", args=[1])
    data = {
        "first_response_minutes": "30",
        "resolution_minutes": "960",
        "warning_percent": "75",
        "supervisor_after_minutes": "60",
        "supervisor": "",
        "remind_after_days": "3",
        "close_after_days": "3",
    }
    response = client.post(url, data)
    assert response.status_code == 200  # the reminder must come before the close
    assert "The reminder comes at least a day before the ticket closes." in response.text
    assert client.post(url, {**data, "close_after_days": "7"}).status_code == 302
    assert SupportSettings.current().first_response_minutes == 30


def test_sla_alerts_and_mail_messages_are_read_only(client, superuser_user, open_ticket):
    case = open_ticket()
    ticket = case.ticket
    alert = SlaAlert.objects.create(ticket=ticket, target="first_response", level=2, at=timezone.now(), notified=[1])
    mail = MailMessage.objects.create(message_id="<a@b>", case=case, direction="in", at=timezone.now())
    client.force_login(superuser_user)
    listing = client.get(reverse("admin:techsupport_slaalert_changelist")).text
    assert case.number in listing
    for obj, name in ((alert, "slaalert"), (mail, "mailmessage")):
        assert client.get(reverse(f"admin:techsupport_{name}_add")).status_code == 403
        page = client.get(reverse(f"admin:techsupport_{name}_change", args=[obj.pk]))
        assert page.status_code == 200 and 'type="submit" value="Save"' not in page.text


@pytest.fixture
def superuser_user(db):
    return factories.StaffFactory(is_superuser=True, role="supervisor")
