"""The finance queue in the staff dashboard: filters and totals, decisions through the services."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from aftersales.finance.models import Refund
from tests.finance.test_queue import order_paid, refund

pytestmark = pytest.mark.django_db


def change_url(row):
    return reverse("admin:finance_refund_change", args=[row.pk])


def decide(client, row, decision, **data):
    return client.post(reverse(f"admin:finance_refund_{decision}", args=[row.pk]), data, follow=True)


def test_R_FIN_3_the_queue_filters_and_totals(client, finance_staff):
    order = order_paid("9000.00")
    refund("100.00", order=order, key="a")
    refund("2500.00", order=order, key="b")
    refund("50.00", order=order, key="c", destination=Refund.Destination.BALANCE)  # approved at once
    client.force_login(finance_staff)
    page = client.get(reverse("admin:finance_refund_changelist")).text
    assert "3 refunds, 2650.00 in all" in page
    pending = client.get(reverse("admin:finance_refund_changelist"), {"state": "pending_approval"}).text
    assert "2 refunds, 2600.00 in all" in pending and "0/2" in pending and "0/1" in pending
    large = client.get(reverse("admin:finance_refund_changelist"), {"amount": "1000-5000"}).text
    assert "1 refund, 2500.00 in all" in large


def test_R_FIN_3_decisions_on_the_refund_page_go_through_the_rules(client, finance_staff):
    row = refund("100.00")
    client.force_login(finance_staff)
    page = client.get(change_url(row)).text
    assert reverse("admin:finance_refund_approve", args=[row.pk]) in page
    assert reverse("admin:finance_refund_retry", args=[row.pk]) not in page  # not from pending
    response = decide(client, row, "hold", note="")
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["error"]
    decide(client, row, "hold", note="Waiting for the courier")
    row.refresh_from_db()
    assert row.state == "held"
    decide(client, row, "release")
    decide(client, row, "approve", note="Checked")
    row.refresh_from_db()
    assert row.state == "approved" and row.approvals.get().approver == finance_staff
    page = client.get(change_url(row)).text
    assert "Waiting for the courier" in page and "Checked" in page  # the audit trail


def test_R_FIN_3_agents_see_no_decisions_and_cannot_post_them(client, agent):
    row = refund()
    client.force_login(agent)
    assert client.get(change_url(row)).status_code == 403  # agents have no view permission on refunds
    response = client.post(reverse("admin:finance_refund_approve", args=[row.pk]))
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.state == "pending_approval"


def test_R_FIN_3_bulk_approve_applies_every_rule_to_each(client, finance_staff):
    order = order_paid("9000.00")
    mine = refund("100.00", order=order, key="mine", requested_by=finance_staff)
    other = refund("200.00", order=order, key="other")
    client.force_login(finance_staff)
    response = client.post(
        reverse("admin:finance_refund_changelist"),
        {"action": "approve_selected", "_selected_action": [mine.pk, other.pk]},
        follow=True,
    )
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("1 approval was recorded" in t for t in texts)
    assert any(f"#{mine.pk}" in t and "requested" in t for t in texts)
    mine.refresh_from_db()
    other.refresh_from_db()
    assert (mine.state, other.state) == ("pending_approval", "approved")
    assert list(Refund.objects.filter(state="approved").values_list("amount", flat=True)) == [Decimal("200.00")]


def test_R_FIN_4_reconciliation_and_transfer_pages_for_finance_only(client, finance_staff, agent, settings, sandbox):
    from tests.finance.test_reconciliation import bank_refund

    settings.PAYMENT_GATEWAY_URL = sandbox.url
    from aftersales.finance import services as finance

    finance.approve_refund(refund=bank_refund(), actor=finance_staff)
    client.force_login(agent)
    assert client.get(reverse("admin:finance_refund_reconciliation")).status_code == 403
    assert client.get(reverse("admin:finance_refund_transfers")).status_code == 403
    client.force_login(finance_staff)
    queue = client.get(reverse("admin:finance_refund_changelist")).text
    assert reverse("admin:finance_refund_reconciliation") in queue
    page = client.get(reverse("admin:finance_refund_reconciliation")).text
    assert "Refunds that moved money" in page and ("reconciled" in page or "mismatches" in page)
    export = client.get(reverse("admin:finance_refund_reconciliation"), {"day": "2026-01-05", "format": "csv"})
    assert export["Content-Type"].startswith("text/csv") and "refund,paid_at" in export.content.decode()
    transfers = client.get(reverse("admin:finance_refund_transfers")).text
    assert "1 refund, 88.00" in transfers
    batch = client.post(reverse("admin:finance_refund_transfers"), {"action": "start"})
    assert batch["Content-Type"].startswith("text/csv") and "6225880137706868" in batch.content.decode()
    reference = Refund.objects.get(destination="bank_transfer").gateway_reference
    assert reference in client.get(reverse("admin:finance_refund_transfers")).text
    client.post(reverse("admin:finance_refund_transfers"), {"action": "paid", "reference": reference})
    assert Refund.objects.get(destination="bank_transfer").state == "succeeded"


def test_R_FIN_3_the_filtered_queue_downloads_as_csv(client, finance_staff, agent):
    order = order_paid("9000.00")
    small = refund("100.00", order=order, key="a")
    large = refund("2500.00", order=order, key="b")
    refund("50.00", order=order, key="c", destination=Refund.Destination.BALANCE)  # approved at once
    client.force_login(finance_staff)
    page = client.get(reverse("admin:finance_refund_changelist"), {"state": "pending_approval"}).text
    assert reverse("admin:finance_refund_export") + "?state=pending_approval" in page

    response = client.get(reverse("admin:finance_refund_export"), {"state": "pending_approval"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(int(r["refund"]), Decimal(r["amount"]), r["approvals_required"]) for r in rows] == [
        (small.pk, Decimal("100.00"), "1"),
        (large.pk, Decimal("2500.00"), "2"),
    ]
    assert {r["state"] for r in rows} == {"pending_approval"} and rows[0]["order"] == order.number
    everything = client.get(reverse("admin:finance_refund_export")).content.decode("utf-8-sig")
    assert len(list(csv.DictReader(io.StringIO(everything)))) == Refund.objects.count() == 3
    bad = client.get(reverse("admin:finance_refund_export"), {"no_such_field": "1"})
    assert bad.status_code == 302 and bad["Location"].endswith("?e=1")

    client.force_login(agent)
    assert client.get(reverse("admin:finance_refund_export")).status_code == 403
