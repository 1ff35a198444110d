"""verify_books (aftersales.common.books, `manage.py verify_books`): a database written through the services
passes; each kind of corrupted row (a status no workflow has, a status or state changed without its audit
event, a refund paid twice, money the gateway moved that no refund accounts for, a ledger credit for an
unpaid refund, refunds above what the order paid) is reported, and the command then exits 1."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from aftersales.cases import services as case_services
from aftersales.cases.models import Case, CaseEvent, CaseKind
from aftersales.common.books import verify_books
from aftersales.finance import execution
from aftersales.finance import services as finance_services
from aftersales.finance.gateways import RefundOutcome, RefundStatus
from aftersales.finance.models import BalanceEntry, LedgerKind, Refund, RefundEvent
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(customer, agent):
    """A ticket moved on by an agent, a refund paid through the gateway and one paid to store balance."""
    ticket = factories.open_case(customer=customer, kind=CaseKind.TICKET, subject="Pairing")
    moves = [name for name, t in _transitions(ticket).items() if ticket.status in t.sources and t.allowed != "system"]
    ticket = case_services.transition(case=ticket, name=moves[0], actor=agent)
    order = factories.order_with_lines(customer=customer, lines=((Decimal("300.00"), 1),))
    to_card = finance_services.request_refund(
        order=order, source=Refund.Source.GOODWILL, amount=Decimal("120.00"), idempotency_key="books-card"
    )
    finance = factories.StaffFactory(email="finance-books@example.com")
    finance.groups.add(*_finance_groups())
    to_card = finance_services.approve_refund(refund=to_card, actor=finance)
    # The executor's own steps, with the gateway's answer given (R-FIN-4): claimed, then recorded as paid.
    (claimed,) = execution.claim(refund_id=to_card.pk)
    to_card = execution.record(claimed, RefundOutcome(status=RefundStatus.SUCCEEDED, gateway_reference="gw-1"))
    to_balance = finance_services.request_refund(
        order=order,
        source=Refund.Source.GOODWILL,
        amount=Decimal("50.00"),
        idempotency_key="books-balance",
        destination=Refund.Destination.BALANCE,
    )
    return {"ticket": ticket, "order": order, "to_card": to_card, "to_balance": to_balance}


def _transitions(case):
    from aftersales.cases import workflow

    return workflow.get(case.kind).transitions


def _finance_groups():
    from django.contrib.auth.models import Group

    from aftersales.accounts import roles

    return [Group.objects.get(name=roles.FINANCE)]


def problems_of(**kwargs) -> list[str]:
    return verify_books(**kwargs)[0]


def test_books_written_through_the_services_pass(books):
    assert Refund.objects.get(pk=books["to_balance"].pk).state == Refund.State.SUCCEEDED  # paid at once (R-FIN-2)
    problems, checked = verify_books(gateway_executed=1)
    assert problems == []
    assert checked["cases (status, closed, event chain)"] == 1
    assert checked["refunds (state, event chain, paid once)"] == 2
    assert checked["internal refunds (credited once, with their amount)"] == 1
    out = io.StringIO()
    call_command("verify_books", "--gateway-executed", "1", stdout=out)
    assert "no problem found" in out.getvalue()


def test_a_status_no_workflow_has_is_reported(books):
    Case.objects.filter(pk=books["ticket"].pk).update(status="lost")
    assert any("case status" in p and books["ticket"].number in p for p in problems_of())


def test_a_status_changed_without_its_event_is_reported(books):
    ticket = books["ticket"]
    other = next(s for s in _transitions(ticket).values() if s.target != ticket.status).target
    Case.objects.filter(pk=ticket.pk).update(status=other, closed_at=None)
    found = problems_of()
    assert any("case audit" in p and f"is {other!r} but its last event says {ticket.status!r}" in p for p in found)


def test_a_broken_event_chain_is_reported(books):
    ticket = books["ticket"]
    CaseEvent.objects.filter(case=ticket, type=CaseEvent.Type.TRANSITION).update(from_status="somewhere")
    assert any("case audit" in p and "after one that ended at" in p for p in problems_of())


def test_a_refund_state_changed_without_its_event_is_reported(books):
    Refund.objects.filter(pk=books["to_card"].pk).update(state=Refund.State.FAILED, paid_at=None)
    found = problems_of()
    assert any(f"refund #{books['to_card'].pk} is 'failed' but its last event says 'succeeded'" in p for p in found)


def test_a_refund_paid_twice_is_reported(books):
    refund = books["to_card"]
    RefundEvent.objects.create(
        refund=refund, at=refund.paid_at, action="paid", from_state="processing", to_state="succeeded"
    )
    assert any("refund paid once" in p and f"#{refund.pk}" in p and "2 events" in p for p in problems_of())


def test_money_the_gateway_moved_without_a_paid_refund_is_reported(books):
    assert any("gateway moved money 2 times; 1 refunds" in p for p in problems_of(gateway_executed=2))


def test_a_ledger_credit_for_an_unpaid_refund_is_reported(books, customer):
    pending = Refund.objects.create(
        order=books["order"],
        source=Refund.Source.GOODWILL,
        amount=Decimal("10.00"),
        destination=Refund.Destination.BALANCE,
        idempotency_key="books-unpaid",
    )
    RefundEvent.objects.create(refund=pending, at=pending.created_at, action="requested", to_state=pending.state)
    BalanceEntry.objects.create(customer=customer, kind=LedgerKind.REFUND, refund=pending, amount=Decimal("10.00"))
    assert any("ledger" in p and f"refund #{pending.pk}" in p for p in problems_of())


def test_refunds_above_what_the_order_paid_are_reported_and_the_command_fails(books):
    # The database's own guard (migration finance 0002) is dropped, as a restore that lost its triggers
    # would have it; the test's transaction puts it back.
    on_table = " ON orders_order" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER orders_order_paid_total_covers_refunds{on_table}")
    books["order"].__class__.objects.filter(pk=books["order"].pk).update(
        goods_total=Decimal("100.00"), paid_total=Decimal("100.00")
    )
    assert any("refund cap" in p and books["order"].number in p for p in problems_of())
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_status:
        call_command("verify_books", stdout=io.StringIO(), stderr=err)
    assert exit_status.value.code == 1
    assert "refund cap" in err.getvalue()
