"""The storefront order ingest (R-ORD-3) and order milestones (R-ORD-2).

An order is upserted whole, by number: the same body twice is stored once (its canonical digest is
kept in `Order.source_digest`); a changed body updates the order in place under a row lock, lines
matched by line number so that ids after-sales records point at survive.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.accounts import roles
from aftersales.accounts.models import User
from aftersales.accounts.services import user_create
from aftersales.common.errors import ValidationFailed
from aftersales.finance.services import refunded_or_pending

from .. import signals
from ..models import ZERO, Order, OrderLine, Parcel, PaymentMode, Product, Storefront

CENT = Decimal("0.01")
# Storefront clocks drift a little; anything further in the future than this is a mistake.
CLOCK_SKEW = timedelta(minutes=10)
MILESTONES = ("left_warehouse_at", "signed_for_at", "cancelled_at")


@dataclass(frozen=True)
class UpsertResult:
    order: Order
    created: bool
    changed: bool


def order_digest(*, number: str, body: dict) -> str:
    """SHA-256 of the canonical form of an order body: the same order in any key order, with
    "10" or "10.00", or a timestamp in any zone, has the same digest."""

    def canonical(value):
        if isinstance(value, dict):
            return {k: canonical(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [canonical(v) for v in value]
        if isinstance(value, Decimal):
            return str(value.quantize(CENT))
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        return value

    body = canonical(body)
    body["number"] = number
    body["lines"] = sorted(body.get("lines", []), key=lambda line: line["line_no"])
    body["parcels"] = sorted(body.get("parcels", []), key=lambda p: (p["carrier"], p["tracking_number"]))
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def upsert_order(
    *,
    storefront: Storefront | None,
    number: str,
    customer: dict,
    payment_mode: str,
    placed_at: datetime,
    goods_total: Decimal,
    paid_total: Decimal,
    lines: list[dict],
    discount_total: Decimal = ZERO,
    shipping_fee: Decimal = ZERO,
    is_b2b: bool = False,
    currency: str = "CNY",
    paid_at: datetime | None = None,
    left_warehouse_at: datetime | None = None,
    signed_for_at: datetime | None = None,
    cancelled_at: datetime | None = None,
    shipping_address: str = "",
    parcels: list[dict] = (),
) -> UpsertResult:
    """R-ORD-3: store a whole order by number; the same body twice stores it once.

    `customer` is {email, full_name, phone, region}; `lines` are {line_no, sku, quantity,
    unit_price, discount, paid_amount, gift_of_line_no}; `parcels` are {carrier,
    tracking_number, shipped_at, signed_for_at}. Milestones already stored are never cleared by a
    push that leaves them out (an order once signed for stays signed for)."""
    body = {
        "customer": {k: customer.get(k, "") for k in ("email", "full_name", "phone", "region")},
        "payment_mode": payment_mode,
        "is_b2b": is_b2b,
        "currency": currency,
        "placed_at": placed_at,
        "paid_at": paid_at,
        "left_warehouse_at": left_warehouse_at,
        "signed_for_at": signed_for_at,
        "cancelled_at": cancelled_at,
        "shipping_address": shipping_address,
        "goods_total": goods_total,
        "discount_total": discount_total,
        "shipping_fee": shipping_fee,
        "paid_total": paid_total,
        "lines": [_line_body(line) for line in lines],
        "parcels": [_parcel_body(parcel) for parcel in parcels],
    }
    body["customer"]["email"] = body["customer"]["email"].strip().lower()
    products = _check_order_body(number, body)
    digest = order_digest(number=number, body=body)
    try:
        with transaction.atomic():
            return _store_order(storefront, number, body, products, digest)
    except IntegrityError:
        # A concurrent push created the same order (or customer) first: store ours over it.
        with transaction.atomic():
            return _store_order(storefront, number, body, products, digest)


def _line_body(line: dict) -> dict:
    return {
        "line_no": line["line_no"],
        "sku": line["sku"],
        "quantity": line["quantity"],
        "unit_price": line["unit_price"],
        "discount": line.get("discount") or ZERO,
        "paid_amount": line["paid_amount"],
        "gift_of_line_no": line.get("gift_of_line_no"),
    }


def _parcel_body(parcel: dict) -> dict:
    return {
        "carrier": parcel["carrier"].strip(),
        "tracking_number": parcel["tracking_number"].strip(),
        "shipped_at": parcel.get("shipped_at"),
        "signed_for_at": parcel.get("signed_for_at"),
    }


def _check_order_body(number: str, body: dict) -> dict[str, Product]:
    """Every cross-field rule of an order body; returns the lines' products by SKU."""
    errors: dict[str, list[str]] = {}

    def fail(key, message):
        errors.setdefault(key, []).append(message)

    if not number.strip() or len(number) > Order._meta.get_field("number").max_length:
        fail("number", _("An order number has 1 to 64 characters."))
    if body["payment_mode"] not in PaymentMode.values:
        fail("payment_mode", _("Unknown payment mode."))
    if not body["customer"]["email"]:
        fail("customer.email", _("The customer's e-mail address is required."))

    lines = body["lines"]
    if not lines:
        fail("lines", _("An order needs at least one line."))
    skus = {line["sku"] for line in lines}
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus).select_related("category", "brand")}
    seen: dict[int, int] = {}
    for index, line in enumerate(lines):
        key = f"lines.{index}"
        if line["line_no"] in seen:
            fail(f"{key}.line_no", _("Line number %(no)s appears twice.") % {"no": line["line_no"]})
        seen.setdefault(line["line_no"], index)
        if line["sku"] not in products:
            fail(f"{key}.sku", _("Unknown SKU %(sku)s.") % {"sku": line["sku"]})
        if line["quantity"] <= 0:
            fail(f"{key}.quantity", _("The quantity must be at least 1."))
        for field in ("unit_price", "discount", "paid_amount"):
            if line[field] < 0:
                fail(f"{key}.{field}", _("Amounts cannot be negative."))
        expected = line["unit_price"] * line["quantity"] - line["discount"]
        if line["paid_amount"] != expected:
            fail(
                f"{key}.paid_amount",
                _("Must equal unit price × quantity − discount (%(expected)s).") % {"expected": expected},
            )
    by_no = {line["line_no"]: line for line in lines}
    for index, line in enumerate(lines):
        gift_of = line["gift_of_line_no"]
        if gift_of is None:
            continue
        main = by_no.get(gift_of)
        if gift_of == line["line_no"]:
            fail(f"lines.{index}.gift_of_line_no", _("A line cannot be a gift of itself."))
        elif main is None:
            fail(f"lines.{index}.gift_of_line_no", _("There is no line %(no)s in this order.") % {"no": gift_of})
        elif main["gift_of_line_no"] is not None:
            fail(f"lines.{index}.gift_of_line_no", _("A gift must belong to a main line, not to another gift."))

    goods = sum((line["unit_price"] * line["quantity"] for line in lines), ZERO)
    discounts = sum((line["discount"] for line in lines), ZERO)
    for field in ("goods_total", "discount_total", "shipping_fee", "paid_total"):
        if body[field] < 0:
            fail(field, _("Amounts cannot be negative."))
    if body["goods_total"] != goods:
        fail("goods_total", _("Must equal the sum of unit price × quantity over the lines (%(sum)s).") % {"sum": goods})
    if body["discount_total"] != discounts:
        fail("discount_total", _("Must equal the sum of the lines' discounts (%(sum)s).") % {"sum": discounts})
    expected_paid = goods - discounts + body["shipping_fee"]
    if body["paid_total"] != expected_paid:
        fail(
            "paid_total",
            _("Must equal goods total − discounts + shipping fee (%(sum)s).") % {"sum": expected_paid},
        )

    seen_parcels = set()
    for index, parcel in enumerate(body["parcels"]):
        ident = (parcel["carrier"], parcel["tracking_number"])
        if not all(ident):
            fail(f"parcels.{index}.tracking_number", _("A parcel needs a carrier and a tracking number."))
        elif ident in seen_parcels:
            fail(f"parcels.{index}.tracking_number", _("This parcel appears twice."))
        seen_parcels.add(ident)
        if parcel["shipped_at"] and parcel["signed_for_at"] and parcel["signed_for_at"] < parcel["shipped_at"]:
            fail(f"parcels.{index}.signed_for_at", _("A parcel cannot be signed for before it was shipped."))

    for key, message in _timeline_errors(body):
        fail(key, message)
    if errors:
        raise ValidationFailed(fields=errors)
    return products


def _timeline_errors(times: dict) -> list[tuple[str, str]]:
    """Milestones in order: paid, left the warehouse, cancelled ≥ placed; signed for ≥ left the
    warehouse (≥ placed for pickup); none in the future."""
    errors = []
    placed = times["placed_at"]
    latest = timezone.now() + CLOCK_SKEW
    for field in ("placed_at", "paid_at", *MILESTONES):
        if times.get(field) and times[field] > latest:
            errors.append((field, _("This time is in the future.")))
    for field in ("paid_at", *MILESTONES):
        if times.get(field) and placed and times[field] < placed:
            errors.append((field, _("Cannot be earlier than the time the order was placed.")))
    left, signed = times.get("left_warehouse_at"), times.get("signed_for_at")
    if left and signed and signed < left:
        errors.append(("signed_for_at", _("Cannot be earlier than the time the order left the warehouse.")))
    return errors


def _store_order(storefront, number, body, products, digest) -> UpsertResult:
    order = Order.objects.select_for_update(of=("self",)).select_related("customer").filter(number=number).first()
    if order is not None:
        if storefront is not None and order.storefront_id not in (None, storefront.pk):
            raise ValidationFailed(fields={"number": [_("This order number belongs to another storefront.")]})
        if order.customer.email.lower() != body["customer"]["email"]:
            raise ValidationFailed(
                fields={"customer.email": [_("The customer of an existing order cannot be changed.")]}
            )
        if order.source_digest == digest:
            return UpsertResult(order=order, created=False, changed=False)
        # R-RET-13 (a database trigger too): refunds already granted cap how low paid_total may go.
        if body["paid_total"] < refunded_or_pending(order):
            raise ValidationFailed(
                fields={"paid_total": [_("Refunds on an order can never exceed what was paid for it.")]}
            )
        # Stored milestones are kept when the push leaves them out; check the merged timeline.
        merged = {f: body[f] or getattr(order, f) for f in MILESTONES}
        problems = _timeline_errors({**body, **merged})
        if problems:
            raise ValidationFailed(fields={key: [message] for key, message in problems})
        body = {**body, **merged}
    customer = _customer_for(body["customer"]) if order is None else order.customer
    created = order is None
    newly_cancelled = body["cancelled_at"] is not None and (created or order.cancelled_at is None)
    if created:
        order = Order(number=number, customer=customer, storefront=storefront)
    elif order.storefront_id is None:
        order.storefront = storefront
    for field in (
        "payment_mode",
        "is_b2b",
        "currency",
        "placed_at",
        "paid_at",
        *MILESTONES,
        "shipping_address",
        "goods_total",
        "discount_total",
        "shipping_fee",
        "paid_total",
    ):
        setattr(order, field, body[field])
    order.source_digest = digest
    order.save()
    _store_lines(order, body["lines"], products)
    _store_parcels(order, body["parcels"])
    if newly_cancelled:
        signals.order_cancelled.send(sender=Order, order=order)
    return UpsertResult(order=order, created=created, changed=True)


def _customer_for(data: dict) -> User:
    """The customer with this e-mail, created (customer role, no usable password) if unknown; blank
    profile fields are filled in from the storefront, filled ones are the customer's own."""
    user = User.objects.filter(email__iexact=data["email"]).first()
    if user is None:
        return user_create(
            email=data["email"],
            password=None,
            role=roles.CUSTOMER,
            full_name=data["full_name"],
            phone=data["phone"],
            region=data["region"],
        )
    missing = [f for f in ("full_name", "phone", "region") if data[f] and not getattr(user, f)]
    for field in missing:
        setattr(user, field, data[field])
    if missing:
        user.save(update_fields=missing)
    return user


def _store_lines(order: Order, lines: list[dict], products: dict[str, Product]) -> None:
    """Lines are matched by line number and updated in place (ids that cases point at survive);
    lines no longer in the body are removed unless something after-sales refers to them."""
    existing = {line.line_no: line for line in order.lines.all()}
    if existing:
        order.lines.update(gift_of=None)  # detach first so removing a main line cascades nothing
    wanted = {line["line_no"] for line in lines}
    removed = [line.pk for no, line in existing.items() if no not in wanted]
    if removed:
        try:
            with transaction.atomic():
                OrderLine.objects.filter(pk__in=removed).delete()
        except (ProtectedError, RestrictedError):
            raise ValidationFailed(
                fields={"lines": [_("A line with after-sales records cannot be removed from the order.")]}
            ) from None
    stored = {}
    for data in lines:
        product = products[data["sku"]]
        line = existing.get(data["line_no"]) or OrderLine(order=order, line_no=data["line_no"])
        line.product, line.product_name = product, product.name
        line.quantity, line.unit_price = data["quantity"], data["unit_price"]
        line.discount, line.paid_amount, line.gift_of = data["discount"], data["paid_amount"], None
        line.save()
        stored[line.line_no] = line
    for data in lines:
        if data["gift_of_line_no"] is not None:
            OrderLine.objects.filter(pk=stored[data["line_no"]].pk).update(gift_of=stored[data["gift_of_line_no"]].pk)


def _store_parcels(order: Order, parcels: list[dict]) -> None:
    existing = {(p.carrier, p.tracking_number): p for p in order.parcels.all()}
    wanted = {(p["carrier"], p["tracking_number"]) for p in parcels}
    order.parcels.filter(pk__in=[p.pk for key, p in existing.items() if key not in wanted]).delete()
    for data in parcels:
        parcel = existing.get((data["carrier"], data["tracking_number"])) or Parcel(
            order=order, carrier=data["carrier"], tracking_number=data["tracking_number"]
        )
        parcel.shipped_at, parcel.signed_for_at = data["shipped_at"], data["signed_for_at"]
        parcel.save()


@transaction.atomic
def set_milestones(
    *,
    order: Order,
    left_warehouse_at: datetime | None = None,
    signed_for_at: datetime | None = None,
    cancelled_at: datetime | None = None,
) -> tuple[Order, bool]:
    """R-ORD-2: record that the order left the warehouse, was signed for / picked up, or was
    cancelled. Idempotent: the same times again change nothing. Returns (order, changed)."""
    order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    given = {"left_warehouse_at": left_warehouse_at, "signed_for_at": signed_for_at, "cancelled_at": cancelled_at}
    changes = {f: v for f, v in given.items() if v is not None and v != getattr(order, f)}
    if not changes:
        return order, False
    merged = {
        "placed_at": order.placed_at,
        "paid_at": order.paid_at,
        **{f: changes.get(f, getattr(order, f)) for f in MILESTONES},
    }
    errors: dict[str, list[str]] = {}
    for key, message in _timeline_errors(merged):
        if key not in changes:  # the stored side of a broken pair: blame the time that moved
            key = next(iter(changes))
        errors.setdefault(key, []).append(message)
    if errors:
        raise ValidationFailed(fields=errors)
    for field, value in changes.items():
        setattr(order, field, value)
    order.save(update_fields=[*changes, "updated_at"])
    if "cancelled_at" in changes:
        signals.order_cancelled.send(sender=Order, order=order)
    return order, True
