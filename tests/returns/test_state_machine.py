"""Random sequences of customer, staff and sweeper actions on return cases never break the books.

Invariants (issue 3, R-RET-5 / R-RET-9 / R-RET-13): an order's refunds never exceed what it paid; no
line is ever requested beyond its quantity; a closed case never moves again; no replacement ships
before its price difference is paid; a return completes only once its refund is paid."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from aftersales.cases import workflow
from aftersales.cases.deadlines import sweep_due_deadlines
from aftersales.cases.models import Case
from aftersales.common.errors import DomainError
from aftersales.finance.models import Refund
from aftersales.finance.services import approve_refund, mark_refund_paid
from returns import selectors, services
from returns.models import ReturnRequest
from tests import factories

RESALEABLE = {"accessories_complete": True, "water_exposure": False}
REQUESTS = [("return", "no_reason"), ("return", "not_as_described"), ("exchange", "no_reason")]


class ReturnCases(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()  # each example runs in a savepoint rolled back in teardown()
        self.customer = factories.CustomerFactory()
        self.agent = factories.StaffFactory(role="agent")
        self.finance = factories.StaffFactory(role="finance")
        self.order = factories.order_with_lines(
            customer=self.customer,
            lines=((Decimal("333.33"), 3), (Decimal("1999.00"), 1)),
            signed_for_at=timezone.now() - timedelta(days=1),
        )
        # Both lines are variants of model M1; the replacement is dearer than a unit of line 1 and
        # cheaper than line 2, so exchanges sometimes owe and sometimes refund a difference.
        for line in self.order.lines.all():
            line.product.model_code = "M1"
            line.product.save()
        self.exchange_sku = factories.ProductFactory(model_code="M1", price=Decimal("500.00"))
        self.cases: list[Case] = []
        self.closed: dict[int, str] = {}

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _try(self, action, **kwargs):
        try:
            return action(**kwargs)
        except DomainError:
            return None

    def _case(self, index):
        case = self.cases[index % len(self.cases)]
        case.refresh_from_db()
        return case

    @rule(request=st.sampled_from(REQUESTS), line_no=st.sampled_from([1, 2]), quantity=st.integers(1, 4))
    def submit(self, request, line_no, quantity):
        kind, reason = request
        case = self._try(
            services.submit_request,
            customer=self.customer,
            order=self.order,
            kind=kind,
            reason=reason,
            lines=[{"line": self.order.lines.get(line_no=line_no), "quantity": quantity}],
            condition=RESALEABLE,
            description="state machine",
            exchange_product=self.exchange_sku if kind == "exchange" else None,
        )
        if case is not None:
            self.cases.append(case)

    @rule(
        index=st.integers(0, 50),
        step=st.sampled_from(
            ["approve", "reject", "cancel", "tracking", "receive", "ship", "send_back", "confirm", "pay", "paid"]
        ),
    )
    def act(self, index, step):
        if not self.cases:
            return
        case = self._case(index)
        actions = {
            "approve": lambda: services.approve(case=case, actor=self.agent),
            "reject": lambda: services.reject(case=case, actor=self.agent, reason_text="No"),
            "cancel": lambda: services.cancel(case=case, customer=self.customer),
            "tracking": lambda: services.enter_tracking(
                case=case, customer=self.customer, carrier="SF", tracking_number="SF1"
            ),
            "receive": lambda: services.receive(case=case, actor=self.agent),
            "ship": lambda: services.ship_replacement(case=case, actor=self.agent, carrier="SF", tracking_number="S"),
            "send_back": lambda: services.send_back(case=case, actor=self.agent, carrier="SF", tracking_number="B"),
            "confirm": lambda: services.confirm_receipt(case=case, actor=self.customer),
            "pay": lambda: services.record_difference_paid(case=case, actor=self.agent),
            "paid": lambda: self._pay_refunds(case),
        }
        self._try(actions[step])

    def _pay_refunds(self, case):
        for refund in Refund.objects.filter(case=case):
            if refund.state == "pending_approval":
                approve_refund(refund=refund, actor=self.finance)
            mark_refund_paid(refund=refund)

    @rule(index=st.integers(0, 50))
    def advance(self, index):
        """The happy path's next step, so long sequences reach inspection and refunds often."""
        if not self.cases:
            return
        case = self._case(index)
        step = {
            "submitted": lambda: services.approve(case=case, actor=self.agent),
            "awaiting_parcel": lambda: services.receive(case=case, actor=self.agent),
            "received": lambda: services.inspect(case=case, actor=self.agent, passed=True, notes="ok"),
            "inspection_passed": lambda: (
                services.record_difference_paid(case=case, actor=self.agent)
                if ReturnRequest.objects.get(case=case).amount_due
                else None,
                services.ship_replacement(case=case, actor=self.agent, carrier="SF", tracking_number="S"),
            ),
            "inspection_failed": lambda: services.send_back(
                case=case, actor=self.agent, carrier="SF", tracking_number="B"
            ),
            "replacement_shipped": lambda: services.confirm_receipt(case=case, actor=self.customer),
            "refund_pending": lambda: self._pay_refunds(case),
        }.get(case.status)
        if step:
            self._try(step)

    @rule(index=st.integers(0, 50), passed=st.booleans(), deductions=st.decimals(0, 400, places=2))
    def inspect(self, index, passed, deductions):
        if self.cases:
            case = self._case(index)
            self._try(services.inspect, case=case, actor=self.agent, passed=passed, notes="seen", deductions=deductions)

    @rule(days=st.integers(1, 40))
    def sweep(self, days):
        sweep_due_deadlines(now=timezone.now() + timedelta(days=days))

    @invariant()
    def refunds_never_exceed_what_was_paid(self):
        refunded = Refund.objects.filter(order=self.order).exclude(state="rejected").aggregate(t=Sum("amount"))["t"]
        assert (refunded or 0) <= self.order.paid_total

    @invariant()
    def no_line_is_requested_beyond_its_quantity(self):
        requested = selectors.requested_quantities(self.order)
        for line in self.order.lines.all():
            assert requested.get(line.pk, 0) <= line.quantity

    @invariant()
    def no_replacement_ships_before_its_difference_is_paid(self):
        shipped = ReturnRequest.objects.filter(case__in=self.cases, outbound_shipped_at__isnull=False, amount_due__gt=0)
        assert not shipped.filter(case__kind="exchange", amount_due_paid_at__isnull=True).exists()

    @invariant()
    def a_return_completes_only_once_its_refund_is_paid(self):
        for request in ReturnRequest.objects.filter(case__in=self.cases, case__status="completed", case__kind="return"):
            assert all(r.state == "succeeded" for r in Refund.objects.filter(case_id=request.case_id))

    @invariant()
    def closed_cases_never_move(self):
        for case in Case.objects.filter(pk__in=[c.pk for c in self.cases]):
            if case.pk in self.closed:
                assert case.status == self.closed[case.pk]
            elif case.status in workflow.get(case.kind).final:
                self.closed[case.pk] = case.status
                assert case.closed_at is not None


@pytest.mark.django_db
def test_return_cases_keep_their_invariants_under_random_actions():
    run_state_machine_as_test(
        ReturnCases,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
