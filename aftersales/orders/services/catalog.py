"""Products and their price history (R-ORD-3); money is Decimal (R-ORD-4)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common.errors import ValidationFailed

from .. import signals
from ..models import Brand, Category, PriceChange, PriceKind, Product


@dataclass(frozen=True)
class ProductResult:
    product: Product
    created: bool
    changed: bool


@transaction.atomic
def upsert_product(
    *,
    sku: str,
    name: str,
    brand: str,
    category: str,
    price: Decimal,
    warranty_months: int | None = None,
    is_sealed: bool = False,
    is_luxury: bool = False,
    is_electronics: bool = False,
    has_serial_number: bool = False,
    active: bool = True,
    model_code: str = "",
) -> ProductResult:
    """R-ORD-3: create or replace a product by SKU. `brand` is a name (created when new),
    `category` a slug that must exist; products sharing a `model_code` are variants of one model
    (an exchange may swap between them, R-RET-5). A new or changed price is recorded in the price history as
    a regular price from now on."""
    errors = {}
    sku, name, brand = sku.strip(), name.strip(), brand.strip()
    if not sku or len(sku) > Product._meta.get_field("sku").max_length:
        errors["sku"] = [_("A SKU has 1 to 64 characters.")]
    if not name:
        errors["name"] = [_("A product needs a name.")]
    if not brand:
        errors["brand"] = [_("A product needs a brand.")]
    if price < 0:
        errors["price"] = [_("Amounts cannot be negative.")]
    category_obj = Category.objects.filter(slug=category).first()
    if category_obj is None:
        errors["category"] = [_("Unknown category %(slug)s.") % {"slug": category}]
    if errors:
        raise ValidationFailed(fields=errors)
    brand_obj = Brand.objects.filter(name__iexact=brand).first() or Brand.objects.create(name=brand)

    product = Product.objects.select_for_update(of=("self",)).filter(sku=sku).first()
    created = product is None
    old_price = None if created else product.price
    values = {
        "name": name,
        "model_code": model_code.strip(),
        "brand_id": brand_obj.pk,
        "category_id": category_obj.pk,
        "price": price,
        "warranty_months": warranty_months,
        "is_sealed": is_sealed,
        "is_luxury": is_luxury,
        "is_electronics": is_electronics,
        "has_serial_number": has_serial_number,
        "active": active,
    }
    if created:
        product = Product.objects.create(sku=sku, **values)
    else:
        changed_fields = [f for f, v in values.items() if getattr(product, f) != v]
        if not changed_fields:
            return ProductResult(product=product, created=False, changed=False)
        for field in changed_fields:
            setattr(product, field, values[field])
        product.save()
    if old_price != price:
        entry = PriceChange.objects.create(
            product=product, price=price, kind=PriceKind.REGULAR, effective_at=timezone.now(), note=""
        )
        signals.price_changed.send(sender=PriceChange, entry=entry)
    return ProductResult(product=product, created=created, changed=True)


@transaction.atomic
def record_price_change(
    *,
    product: Product,
    price: Decimal,
    kind: str,
    effective_at: datetime,
    ends_at: datetime | None = None,
    note: str = "",
) -> tuple[PriceChange, bool]:
    """R-ORD-3: add one entry to a product's price history (idempotent: the same entry twice is
    stored once). A regular price already in effect becomes the product's price. Returns
    (entry, created)."""
    errors = {}
    if kind not in PriceKind.values:
        errors["kind"] = [_("Unknown price kind.")]
    if price < 0:
        errors["price"] = [_("Amounts cannot be negative.")]
    if ends_at is not None and ends_at <= effective_at:
        errors["ends_at"] = [_("Must be later than the start.")]
    if errors:
        raise ValidationFailed(fields=errors)
    product = Product.objects.select_for_update(of=("self",)).get(pk=product.pk)
    entry = PriceChange.objects.filter(
        product=product, price=price, kind=kind, effective_at=effective_at, ends_at=ends_at
    ).first()
    if entry is not None:
        return entry, False
    entry = PriceChange.objects.create(
        product=product, price=price, kind=kind, effective_at=effective_at, ends_at=ends_at, note=note.strip()
    )
    signals.price_changed.send(sender=PriceChange, entry=entry)
    if kind == PriceKind.REGULAR and effective_at <= timezone.now() and product.price != price:
        latest = (
            PriceChange.objects.filter(product=product, kind=PriceKind.REGULAR, effective_at__lte=timezone.now())
            .order_by("-effective_at", "-pk")
            .first()
        )
        if latest == entry:  # a back-dated entry older than the current regular price changes nothing now
            product.price = price
            product.save(update_fields=["price", "updated_at"])
    return entry, True
