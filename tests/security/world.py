"""One small world for the authorization matrix: customer A (the attacker), customer B (the victim) with one
object of every kind, one user per staff role, a superuser, and a storefront per customer side.

Built once per test module (see `world` in test_authorization_matrix.py) inside a transaction that is
rolled back at the end; each test runs in a savepoint of its own, so a request that changes something
does not leak into the next test."""

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests import factories

# Marks on B's data: none of these may appear in a page or a response shown to anyone but B or staff.
B_EMAIL = "victim.bee@example.com"
B_NAME = "Beatrice Victimsdottir"
B_NOTE = "Bees-secret-note-7731"


def photo(name="parcel.png") -> SimpleUploadedFile:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (20, 120, 200)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def build_world() -> SimpleNamespace:
    from aftersales.cases import services as case_services
    from aftersales.cases.attachments import add_attachment
    from aftersales.cases.models import BusinessDay, Notification
    from aftersales.finance import services as finance
    from aftersales.finance.models import BalanceEntry, Coupon, PointsEntry, Refund
    from aftersales.orders.models import Category, Parcel, PriceChange, WebhookDelivery
    from aftersales.orders.services.storefronts import create_storefront
    from priceprotect import services as pp_services
    from returns import services as return_services
    from techsupport.kb import services as kb_services
    from techsupport.models import CannedReply, MailMessage, SlaPolicy, Team
    from techsupport.services import tickets
    from warranty import services as warranty_services
    from warranty.models import Accessory, ServiceCentre

    w = SimpleNamespace()
    now = timezone.now()
    w.a = factories.CustomerFactory(email="attacker.ann@example.com", full_name="Ann Attacker")
    w.b = factories.CustomerFactory(email=B_EMAIL, full_name=B_NAME)
    w.staff = {role: factories.StaffFactory(role=role) for role in ("agent", "technician", "finance", "supervisor")}
    w.superuser = factories.StaffFactory(is_superuser=True, role="supervisor")

    w.storefront, _ = create_storefront(name="B's shop", token="b-shop-token-0123456789abcdef")
    w.storefront_token = "b-shop-token-0123456789abcdef"
    w.other_storefront_token = "a-shop-token-0123456789abcdef"
    create_storefront(name="A's shop", token=w.other_storefront_token)

    # B's order, signed for 2 days ago: a return is open.
    w.order = factories.order_with_lines(
        customer=w.b, storefront=w.storefront, number="SO-BEE-0001", lines=((Decimal("1234.56"), 2),)
    )
    w.line = w.order.lines.get()
    w.product = w.line.product
    Parcel.objects.create(order=w.order, carrier="SF", tracking_number="SF-BEE-777", shipped_at=w.order.placed_at)
    w.return_case = return_services.submit_request(
        customer=w.b,
        order=w.order,
        kind="return",
        reason="no_reason",
        lines=[{"line": w.line, "quantity": 1}],
        condition={"accessories_complete": True, "water_exposure": False},
        description=B_NOTE,
    )
    if w.return_case.status == "submitted":  # approved, so it has a returns label
        w.return_case = return_services.approve(case=w.return_case, actor=w.staff["agent"])
    w.attachment = add_attachment(case=w.return_case, uploaded_by=w.b, upload=photo())
    w.notification = Notification.objects.filter(user=w.b).first()

    # B's television, 20 days after delivery: a warranty repair claim and a registered unit.
    w.tv_order = factories.order_with_lines(
        customer=w.b, number="SO-BEE-0002", lines=((Decimal("3999.00"), 1),), signed_for_at=now - timedelta(days=20)
    )
    w.tv_line = w.tv_order.lines.get()
    tv = w.tv_line.product
    tv.category = Category.objects.get_or_create(slug="tvs", defaults={"name": "TVs"})[0]
    tv.save(update_fields=["category"])
    w.centre = ServiceCentre.objects.create(name="Xuhui centre", regions=["上海"], address="上海市徐汇区 1 号")
    w.centre.brands.add(tv.brand)
    w.unit = warranty_services.register_unit(line=w.tv_line, serial_number="SN-BEE-123", source="customer")
    w.warranty_case = warranty_services.file_claim(
        customer=w.b,
        line=w.tv_line,
        fault="display",
        description=B_NOTE,
        documents=["original_invoice", "warranty_card", "accessories", "packaging", "manual"],
        unit=w.unit,
    )
    w.accessory = Accessory.objects.create(category=tv.category, name="Remote", price=Decimal("49.00"))

    # B's order in transit whose price dropped: a price-protection claim.
    placed = now - timedelta(days=2)
    w.pp_order = factories.order_with_lines(
        customer=w.b,
        number="SO-BEE-0003",
        lines=((Decimal("1999.00"), 1),),
        placed_at=placed,
        paid_at=placed,
        left_warehouse_at=placed + timedelta(days=1),
        signed_for_at=None,
    )
    pp_product = w.pp_order.lines.get().product
    w.price_change = PriceChange.objects.create(
        product=pp_product, price=Decimal("1799.00"), effective_at=now - timedelta(hours=1)
    )
    pp_product.price = Decimal("1799.00")
    pp_product.save(update_fields=["price"])
    w.pp_case = pp_services.file_claim(order=w.pp_order, actor=w.b)

    # B's support ticket, and a help-centre search that did not answer B.
    w.team = Team.objects.create(code="first-line", name="First line", tier=1)
    w.team.members.add(w.staff["agent"])
    w.ticket_case = tickets.open_ticket(customer=w.b, actor=w.b, subject=B_NOTE, body=B_NOTE, category="usage")
    w.article = factories.ArticleFactory(title="How to pair", slug="how-to-pair", body="Hold the button.")
    w.draft = factories.ArticleFactory(title="Unreleased recall", slug="draft-recall", published=False)
    w.release = factories.release(product=w.product)
    w.deflection = kb_services.suggestions_shown(customer=w.b, query=B_NOTE, articles=[w.article])
    SlaPolicy.objects.get_or_create(name="Normal")
    CannedReply.objects.create(title="Thanks", body="Thank you.")
    MailMessage.objects.create(message_id="<bee@example.com>", case=w.ticket_case, direction="in", at=now)

    # Money: a goodwill refund awaiting finance, a balance credit, points and a coupon for B.
    w.refund = finance.request_refund(
        order=w.order, source="goodwill", amount=Decimal("100.00"), idempotency_key="bee-goodwill-1"
    )
    w.balance = BalanceEntry.objects.create(customer=w.b, kind="adjustment", amount=Decimal("12.34"), note=B_NOTE)
    w.points = PointsEntry.objects.create(customer=w.b, kind="adjustment", points=77, note=B_NOTE)
    w.coupon = Coupon.objects.create(
        code="BEE12345", customer=w.b, amount=Decimal("5.00"), currency="CNY", expires_at=now + timedelta(days=30)
    )
    assert isinstance(w.refund, Refund)

    # B's cancelled case rated 1 star: feedback, and the supervisor's follow-up task it opens (R-FB-1).
    closed = case_services.transition(case=factories.open_case(customer=w.b, order=w.order), name="cancel", actor=w.b)
    case_services.leave_feedback(case=closed, customer=w.b, rating=1, reason="policy", comment=B_NOTE)
    w.closed_case = closed
    w.follow_up = closed.follow_ups.first() if hasattr(closed, "follow_ups") else None
    w.business_day = BusinessDay.objects.create(date=(now + timedelta(days=40)).date(), is_working=False)
    w.webhook = WebhookDelivery.objects.create(
        storefront=w.storefront,
        event="case.updated",
        key="bee-webhook-1",
        payload={"email": B_EMAIL},
        next_attempt_at=now,
    )
    return w
