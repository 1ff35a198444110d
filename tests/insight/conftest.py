"""A small March 2026 of after-sales work, with a few rows just outside it, for the insight figures.

Cases are opened with the cases service and their details are the apps' own rows; the moments and
statuses a workflow would have reached are then set directly, as they would stand after the steps."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.cases.models import Case, CaseKind, Feedback
from aftersales.finance.models import Refund
from aftersales.insight.selectors import Filters
from aftersales.orders.models import OrderLine
from priceprotect.models import Claim as PriceClaim
from priceprotect.models import ClaimLine
from returns.models import ReturnLine, ReturnRequest
from techsupport.models import Team, Ticket
from tests import factories
from warranty.models import Claim as WarrantyClaim

MARCH = Filters(start=date(2026, 3, 1), end=date(2026, 4, 1))


def at(day: int, hour: int = 10, month: int = 3) -> datetime:
    return timezone.make_aware(datetime(2026, month, day, hour, 0))


@dataclass
class World:
    products: dict = field(default_factory=dict)
    lines: dict = field(default_factory=dict)
    orders: dict = field(default_factory=dict)
    cases: dict = field(default_factory=dict)
    refunds: list = field(default_factory=list)


def _order(world, name, placed, items, *, cancelled=None):
    order = factories.OrderFactory(placed_at=placed, cancelled_at=cancelled)
    total = Decimal("0.00")
    for line_no, (product_key, quantity) in enumerate(items, start=1):
        product = world.products[product_key]
        amount = product.price * quantity
        world.lines[(name, product_key)] = OrderLine.objects.create(
            order=order,
            line_no=line_no,
            product=product,
            product_name=product.name,
            quantity=quantity,
            unit_price=product.price,
            paid_amount=amount,
        )
        total += amount
    order.goods_total = order.paid_total = total
    order.save(update_fields=["goods_total", "paid_total"])
    world.orders[name] = order
    return order


def _case(world, name, kind, order, *, opened, closed=None, status=None):
    case = factories.open_case(kind=kind, customer=order.customer if order else None, order=order)
    Case.objects.filter(pk=case.pk).update(opened_at=opened, closed_at=closed, status=status or case.status)
    case.refresh_from_db()
    world.cases[name] = case
    return case


def _return(world, name, kind, order_name, product_key, quantity, reason, **moments):
    order = world.orders[order_name]
    line = world.lines[(order_name, product_key)]
    case = _case(world, name, kind, order, **moments)
    request = ReturnRequest.objects.create(
        case=case,
        reason=reason,
        return_shipping_paid_by="shop",
        refund_estimate=line.unit_price * quantity if kind == CaseKind.RETURN else Decimal("0.00"),
    )
    ReturnLine.objects.create(request=request, order_line=line, quantity=quantity)
    return case


def _ticket(world, name, *, opened, category, product=None, responded=None, breached=False, closed=None):
    case = _case(world, name, CaseKind.TICKET, None, opened=opened, closed=closed, status="closed" if closed else None)
    team, _ = Team.objects.get_or_create(code="first-line", defaults={"name": "First line", "tier": 1})
    Ticket.objects.create(
        case=case,
        team=team,
        category=category,
        product=world.products.get(product),
        first_response_minutes=60,
        first_response_due_at=opened + timedelta(hours=1),
        first_responded_at=responded,
        first_response_breached=breached,
    )
    return case


def _feedback(case, rating, reason, created):
    feedback = Feedback.objects.create(case=case, rating=rating, reason=reason)
    Feedback.objects.filter(pk=feedback.pk).update(created_at=created)


def _refund(world, order_name, case_name, source, amount, state, *, paid=None, destination="original_payment"):
    refund = Refund.objects.create(
        order=world.orders[order_name],
        case=world.cases.get(case_name),
        source=source,
        amount=Decimal(amount),
        state=state,
        destination=destination,
        paid_at=paid,
        idempotency_key=f"insight-{len(world.refunds)}",
    )
    world.refunds.append(refund)
    return refund


@pytest.fixture
def world(db) -> World:
    w = World()
    phones = factories.CategoryFactory(name="Phones")
    cases_cat = factories.CategoryFactory(name="Phone cases", parent=phones)
    laptops = factories.CategoryFactory(name="Laptops")
    acme, zeta = factories.BrandFactory(name="Acme"), factories.BrandFactory(name="Zeta")
    w.products = {
        "p1": factories.ProductFactory(
            sku="P1", name="手机 $Pro", category=phones, brand=acme, price=Decimal("100.00")
        ),
        "p2": factories.ProductFactory(
            sku="P2", name="Case <b>", category=cases_cat, brand=zeta, price=Decimal("20.00")
        ),
        "p3": factories.ProductFactory(sku="P3", name="Laptop", category=laptops, brand=acme, price=Decimal("900.00")),
    }
    _order(w, "o1", at(2), [("p1", 4), ("p2", 2)])
    _order(w, "o2", at(5), [("p3", 1)])
    _order(w, "o3", at(20, month=2), [("p1", 1)])  # placed in February: not sold in March
    _order(w, "o4", at(6), [("p2", 5)], cancelled=at(7))  # cancelled: not sold

    _return(w, "r1", CaseKind.RETURN, "o1", "p1", 2, "quality", opened=at(3), closed=at(6), status="completed")
    _return(w, "r2", CaseKind.RETURN, "o1", "p2", 1, "no_reason", opened=at(4), closed=at(5), status="rejected")
    _return(w, "r3", CaseKind.EXCHANGE, "o2", "p3", 1, "quality", opened=at(10), status="submitted")
    _return(w, "r4", CaseKind.RETURN, "o3", "p1", 1, "quality", opened=at(12), status="awaiting_parcel")
    _return(w, "r0", CaseKind.RETURN, "o3", "p1", 1, "no_reason", opened=at(25, month=2), status="cancelled")

    w1 = _case(w, "w1", CaseKind.WARRANTY, w.orders["o2"], opened=at(8), closed=at(20), status="completed")
    WarrantyClaim.objects.create(
        case=w1, order_line=w.lines[("o2", "p3")], fault="battery", description="Dies", coverage_ends_at=at(1, month=12)
    )

    _ticket(w, "t1", opened=at(2), category="usage", product="p1", responded=at(2, 10) + timedelta(minutes=30))
    _ticket(w, "t2", opened=at(9), category="fault", product="p3", responded=at(9, 14), breached=True, closed=at(10))
    _ticket(w, "t3", opened=at(16), category="fault")  # not answered yet, not breached: not counted
    _ticket(w, "t4", opened=at(18), category="complaint", breached=True)  # breached before any answer
    _ticket(w, "t0", opened=at(27, month=2), category="usage", responded=at(27, 11, month=2))  # February

    pp = _case(w, "pp1", CaseKind.PRICE_PROTECTION, w.orders["o1"], opened=at(6), status="compensated")
    claim = PriceClaim.objects.create(
        case=pp,
        order=w.orders["o1"],
        mode="credit",
        destination="coupon",
        amount=Decimal("40.00"),
        revoked_amount=Decimal("10.00"),
        largest_drop_percent=Decimal("10.00"),
        compensated_at=at(7),
    )
    ClaimLine.objects.create(
        claim=claim,
        order_line=w.lines[("o1", "p1")],
        units=4,
        paid_unit_price=Decimal("100.00"),
        basis_price=Decimal("90.00"),
        amount=Decimal("40.00"),
        drop_percent=Decimal("10.00"),
    )

    _refund(w, "o1", "r1", "return", "200.00", "succeeded", paid=at(8))
    _refund(w, "o2", None, "goodwill", "20.00", "succeeded", paid=at(9), destination="balance")
    _refund(w, "o2", "w1", "warranty", "30.00", "failed")
    _refund(w, "o1", "r4", "return", "100.00", "succeeded", paid=at(2, month=4))  # paid in April

    _feedback(w.cases["r1"], 5, "speed", at(7))
    _feedback(w.cases["w1"], 2, "outcome", at(21))
    _feedback(w.cases["t2"], 3, "outcome", at(11))
    _feedback(w.cases["r2"], 1, "policy", at(6))
    _feedback(w.cases["t0"], 4, "", at(28, month=2))  # February
    return w
