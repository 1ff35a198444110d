"""factory_boy factories shared by every test module."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from aftersales.accounts.models import User
from aftersales.cases import services as case_services
from aftersales.cases.models import CaseKind
from aftersales.orders.models import Brand, Category, Order, OrderLine, PaymentMode, Product

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create:
            default = "agent" if self.is_staff else "customer"
            self.groups.add(Group.objects.get(name=extracted or default))
            self.save()


class CustomerFactory(UserFactory):
    pass


class StaffFactory(UserFactory):
    is_staff = True


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = "Phones"
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ("name",)

    name = "Acme"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    brand = factory.SubFactory(BrandFactory)
    category = factory.SubFactory(CategoryFactory)
    price = Decimal("1999.00")


class OrderFactory(factory.django.DjangoModelFactory):
    """An order with no lines; totals are zero until `with_lines` adds some."""

    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"SO{n:08d}")
    customer = factory.SubFactory(CustomerFactory)
    payment_mode = PaymentMode.PREPAID
    goods_total = Decimal("0.00")
    paid_total = Decimal("0.00")
    placed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=5))
    paid_at = factory.LazyAttribute(lambda o: o.placed_at)
    left_warehouse_at = factory.LazyAttribute(lambda o: o.placed_at + timedelta(days=1))
    signed_for_at = factory.LazyAttribute(lambda o: o.placed_at + timedelta(days=3))


def order_with_lines(*, customer=None, lines=((Decimal("1999.00"), 1),), **kwargs) -> Order:
    """An order whose totals agree with its lines: lines are (unit_price, quantity)."""
    order = OrderFactory(**({"customer": customer} if customer else {}), **kwargs)
    total = Decimal("0.00")
    for index, (unit_price, quantity) in enumerate(lines, start=1):
        product = ProductFactory(price=unit_price)
        amount = unit_price * quantity
        OrderLine.objects.create(
            order=order,
            line_no=index,
            product=product,
            product_name=product.name,
            quantity=quantity,
            unit_price=unit_price,
            paid_amount=amount,
        )
        total += amount
    order.goods_total = order.paid_total = total
    order.save(update_fields=["goods_total", "paid_total"])
    return order


def open_case(*, customer=None, kind=CaseKind.RETURN, order=None, **kwargs):
    customer = customer or CustomerFactory()
    return case_services.open_case(kind=kind, customer=customer, order=order, **kwargs)


def add_line(order: Order, *, product, quantity: int = 1) -> OrderLine:
    """A paid line for `product` at its price, numbered after the order's last one, totals kept right."""
    line = OrderLine.objects.create(
        order=order,
        line_no=order.lines.count() + 1,
        product=product,
        product_name=product.name,
        quantity=quantity,
        unit_price=product.price,
        paid_amount=product.price * quantity,
    )
    order.goods_total += line.paid_amount
    order.paid_total += line.paid_amount
    order.save(update_fields=["goods_total", "paid_total"])
    return line


def add_gift(order: Order, *, main: OrderLine, line_no: int, name: str = "Gift", value=Decimal("149.00")) -> OrderLine:
    """A free gift attached to `main` (R-ORD-1): listed at `value`, fully discounted, totals kept right."""
    product = ProductFactory(name=name, price=value)
    gift = OrderLine.objects.create(
        order=order,
        line_no=line_no,
        product=product,
        product_name=product.name,
        quantity=1,
        unit_price=value,
        discount=value,
        paid_amount=Decimal("0.00"),
        gift_of=main,
    )
    order.goods_total += value
    order.discount_total += value
    order.save(update_fields=["goods_total", "discount_total"])
    return gift


# --- Knowledge base and downloads (techsupport.kb, R-SUP-5) ----------------------------------------------


class ArticleFactory(factory.django.DjangoModelFactory):
    """A published article; `products=[…]` and `categories=[…]` link it."""

    class Meta:
        model = "techsupport.Article"
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Article {n}")
    slug = factory.Sequence(lambda n: f"article-{n}")
    kind = "guide"
    summary = ""
    body = ""
    published = True

    @factory.post_generation
    def products(self, create, extracted, **kwargs):
        if create and extracted:
            self.products.set(extracted)

    @factory.post_generation
    def categories(self, create, extracted, **kwargs):
        if create and extracted:
            self.categories.set(extracted)


def release(*, product=None, version="1.0.0", content=b"firmware image", name="firmware.bin", **kwargs):
    """A release stored, sized and hashed by the service, as staff would upload it."""
    from django.core.files.base import ContentFile

    from techsupport.kb import services as kb_services

    kwargs.setdefault("notes", "")
    kwargs.setdefault("released_at", timezone.now())
    kwargs.setdefault("actor", None)
    return kb_services.add_release(
        product=product or ProductFactory(), version=version, uploaded_file=ContentFile(content, name=name), **kwargs
    )
