"""`verify_books`: the whole database checked against the rules money and state changes follow, after a soak,
a restore or any day in production (`manage.py verify_books`). Read-only; returns the problems found.

- Cases: each status is one of its kind's workflow; closed exactly when final; its status events (opened,
  transitions, deadlines) form one connected chain from the opening to the current status, each step a
  transition the workflow has (the audit trail says how every case got where it is).
- Refunds: each state is a known one and equals the last event's; the events are connected from the
  creation; a paid refund has its paid time and exactly one event that paid it, others none; idempotency
  keys are unique; what an order's refunds take stays within what it paid; a revoked part has its events.
- The gateway (when its count is given): refunds that moved money there == refunds a worker paid to the
  original payment after calling it.
- The ledger: every paid internal refund credited once, with its amount (balance, points or a coupon), and
  nothing credited for a refund that is not paid; no customer's balance or points below zero; what
  `ledger.balance_of` / `points_of` answer equals the sum of the entries.
"""

import itertools
from collections import Counter, defaultdict
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, Sum

PAID_STATES = ("succeeded", "resolved")
MAX_LISTED = 50  # problems listed per check; the count says how many more


class Problems(list):
    """The problems found, at most MAX_LISTED of each kind spelled out."""

    def __init__(self):
        super().__init__()
        self.by_check = Counter()

    def add(self, check: str, text: str) -> None:
        self.by_check[check] += 1
        if self.by_check[check] <= MAX_LISTED:
            self.append(f"{check}: {text}")

    def summary(self) -> list[str]:
        extra = [f"{check}: … and {n - MAX_LISTED} more" for check, n in self.by_check.items() if n > MAX_LISTED]
        return [*self, *extra]


def _chain(problems: Problems, check: str, label: str, steps: list[tuple[str, str]], current: str) -> None:
    """`steps` (from, to) in the order they were written: the first starts from nothing, each starts where
    the one before ended, the last ends at `current`."""
    if not steps:
        problems.add(check, f"{label} has no event")
        return
    if steps[0][0]:
        problems.add(check, f"{label}: the first event starts from {steps[0][0]!r}, not from nothing")
    for (_a, before), (after, to) in itertools.pairwise(steps):
        if after != before:
            problems.add(check, f"{label}: an event moves {after!r} → {to!r} after one that ended at {before!r}")
    if steps[-1][1] != current:
        problems.add(check, f"{label} is {current!r} but its last event says {steps[-1][1]!r}")


def check_cases(problems: Problems, checked: dict) -> None:
    from aftersales.cases import workflow
    from aftersales.cases.models import Case, CaseEvent

    flows = {kind: workflow.get(kind) for kind in workflow.registered_kinds()}
    legal = {
        kind: {(source, t.target) for t in flow.transitions.values() for source in t.sources}
        for kind, flow in flows.items()
    }
    rows = Case.objects.values_list("pk", "number", "kind", "status", "closed_at").iterator(chunk_size=5000)
    cases = {pk: (number, kind, status, closed) for pk, number, kind, status, closed in rows}
    for number, kind, status, closed_at in cases.values():
        flow = flows.get(kind)
        if flow is None:
            problems.add("case kind", f"{number} is of kind {kind!r}, which has no workflow")
        elif status not in flow.statuses:
            problems.add("case status", f"{number} ({kind}) is {status!r}, not a status of its workflow")
        elif (status in flow.final) != (closed_at is not None):
            problems.add("case closed", f"{number} is {status!r} but closed_at is {closed_at}")
    steps = defaultdict(list)
    events = CaseEvent.objects.filter(~Q(to_status="")).order_by("case_id", "id")
    for case_id, event_type, from_status, to_status in events.values_list(
        "case_id", "type", "from_status", "to_status"
    ).iterator(chunk_size=10000):
        steps[case_id].append((from_status, to_status, event_type))
    for pk, (number, kind, status, _closed) in cases.items():
        chain = steps.get(pk, [])
        if chain and chain[0][2] != CaseEvent.Type.OPENED:
            problems.add("case audit", f"{number}: the first status event is {chain[0][2]!r}, not the opening")
        for from_status, to_status, event_type in chain[1:]:
            if kind in legal and (from_status, to_status) not in legal[kind]:
                problems.add("case audit", f"{number}: {event_type} {from_status!r} → {to_status!r} is no transition")
        _chain(problems, "case audit", number, [(a, b) for a, b, _t in chain], status)
    checked["cases (status, closed, event chain)"] = len(cases)
    checked["case status events"] = sum(len(chain) for chain in steps.values())


def check_refunds(problems: Problems, checked: dict, gateway_executed: int | None) -> None:
    from aftersales.finance.models import Refund, RefundEvent
    from aftersales.orders.models import Order

    states = set(Refund.State.values)
    refunds = {
        pk: row
        for pk, *row in Refund.objects.values_list(
            "pk", "state", "paid_at", "revoked_amount", "amount", "destination"
        ).iterator(chunk_size=5000)
    }
    steps, paying, revoked = defaultdict(list), Counter(), defaultdict(Decimal)
    for refund_id, action, from_state, to_state, data in (
        RefundEvent.objects.order_by("refund_id", "id")
        .values_list("refund_id", "action", "from_state", "to_state", "data")
        .iterator(chunk_size=10000)
    ):
        steps[refund_id].append((from_state, to_state))
        if to_state in PAID_STATES and from_state not in PAID_STATES:
            paying[refund_id] += 1
        if action == "revoked":
            revoked[refund_id] += Decimal(str((data or {}).get("amount", "0")))
    for pk, (state, paid_at, revoked_amount, _amount, _destination) in refunds.items():
        label = f"refund #{pk}"
        if state not in states:
            problems.add("refund state", f"{label} is {state!r}, not a refund state")
        _chain(problems, "refund audit", label, steps.get(pk, []), state)
        wanted = 1 if state in PAID_STATES else 0
        if paying[pk] != wanted:
            problems.add("refund paid once", f"{label} ({state}) has {paying[pk]} events that paid it, not {wanted}")
        if (state in PAID_STATES) != (paid_at is not None):
            problems.add("refund paid once", f"{label} is {state} with paid_at {paid_at}")
        if revoked_amount != revoked[pk]:
            problems.add("refund audit", f"{label}: {revoked_amount} revoked, its events say {revoked[pk]}")
    checked["refunds (state, event chain, paid once)"] = len(refunds)
    checked["refund events"] = sum(len(chain) for chain in steps.values())

    duplicates = Refund.objects.values("idempotency_key").annotate(n=Count("id")).filter(n__gt=1)
    for row in duplicates[:MAX_LISTED]:
        problems.add("idempotency", f"key {row['idempotency_key']!r} is on {row['n']} refunds")

    over = (
        Order.objects.annotate(
            taken=Sum(
                F("refunds__amount") - F("refunds__revoked_amount"),
                filter=~Q(refunds__state=Refund.State.REJECTED),
            )
        )
        .filter(taken__gt=F("paid_total"))
        .values_list("number", "taken", "paid_total")
    )
    for number, taken, paid_total in over[:MAX_LISTED]:
        problems.add("refund cap", f"order {number}: refunds take {taken}, it paid {paid_total}")
    with_refunds = Order.objects.filter(refunds__isnull=False).distinct().count()
    checked["orders with refunds (within what they paid)"] = with_refunds

    if gateway_executed is not None:
        # Paid through the gateway = paid by a worker after its call (processing → succeeded); a refund
        # marked paid by hand (approved → succeeded, e.g. settled outside the gateway) is not counted.
        paid_there = (
            RefundEvent.objects.filter(
                action="paid",
                from_state=Refund.State.PROCESSING,
                refund__destination=Refund.Destination.ORIGINAL_PAYMENT,
                refund__state=Refund.State.SUCCEEDED,
            )
            .values("refund_id")
            .distinct()
            .count()
        )
        if gateway_executed != paid_there:
            problems.add(
                "gateway",
                f"the gateway moved money {gateway_executed} times; "
                f"{paid_there} refunds are paid to the original payment",
            )
        checked["refunds paid through the gateway (= its count)"] = paid_there


def check_ledger(problems: Problems, checked: dict) -> None:
    from aftersales.finance import ledger
    from aftersales.finance.models import BalanceEntry, Coupon, LedgerKind, PointsEntry, Refund

    rate = settings.REFUND_POINTS_PER_CURRENCY_UNIT
    internal = Refund.objects.filter(destination__in=Refund.INTERNAL_DESTINATIONS).values_list(
        "pk", "state", "destination", "amount"
    )
    credits = defaultdict(list)  # refund id → (destination, value) credited for it
    for refund_id, amount in BalanceEntry.objects.filter(kind=LedgerKind.REFUND).values_list("refund_id", "amount"):
        credits[refund_id].append(("balance", amount))
    for refund_id, points in PointsEntry.objects.filter(kind=LedgerKind.REFUND).values_list("refund_id", "points"):
        credits[refund_id].append(("points", points))
    for refund_id, amount in Coupon.objects.filter(refund__isnull=False).values_list("refund_id", "amount"):
        credits[refund_id].append(("coupon", amount))
    seen = set()
    for pk, state, destination, amount in internal.iterator(chunk_size=5000):
        seen.add(pk)
        expected = int(amount * rate) if destination == "points" else amount
        wanted = [(destination, expected)] if state in PAID_STATES else []
        if state == "resolved":  # settled by hand: a credit may or may not have been written
            wanted = credits.get(pk, [])
        if sorted(credits.get(pk, []), key=str) != sorted(wanted, key=str):
            problems.add("ledger", f"refund #{pk} ({state}, {destination} {amount}) credited {credits.get(pk, [])}")
    for refund_id in set(credits) - seen:
        problems.add("ledger", f"refund #{refund_id} is not paid to an internal destination but credited there")
    checked["internal refunds (credited once, with their amount)"] = len(seen)

    from django.contrib.auth import get_user_model

    User = get_user_model()
    holders = 0
    for model, field, read in ((BalanceEntry, "amount", ledger.balance_of), (PointsEntry, "points", ledger.points_of)):
        sums = defaultdict(int)
        for customer_id, value in model.objects.values_list("customer_id", field).iterator(chunk_size=10000):
            sums[customer_id] += value
        for customer in User.objects.filter(pk__in=list(sums)):
            total = sums[customer.pk]
            if total < 0:
                problems.add("ledger", f"customer {customer.pk}'s {field} is {total}, below zero")
            if read(customer) != total:
                problems.add("ledger", f"customer {customer.pk}: {read.__name__} {read(customer)} ≠ Σ entries {total}")
        holders += len(sums)
    checked["customers' balances and points (= Σ entries, ≥ 0)"] = holders


def verify_books(*, gateway_executed: int | None = None) -> tuple[list[str], dict[str, int]]:
    """(the problems found, what was checked: label → rows)."""
    problems, checked = Problems(), {}
    check_cases(problems, checked)
    check_refunds(problems, checked, gateway_executed)
    check_ledger(problems, checked)
    return problems.summary(), checked
