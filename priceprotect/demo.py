"""The price-protection demo (DOMAIN §4), made through the services so every claim obeys the rules and
carries its lines, refund and coupon: a few recent regular price cuts (and a flash sale and a flagged
pricing error, which never count, R-PP-4), other customers' claims at every stage, and an order of the
demo customer that can claim right now in the portal, told of the cut by the price-drop sweep.

The claims' orders are pushed here through the storefront ingest, paid six days ago and signed for two
days ago, so whatever the hour the seed runs they sit well inside their 7- and 15-day windows (R-PP-2
counts local days of the shop's time zone), and the cuts fall between payment and sign-for; one more,
cash on delivery and still in the warehouse, was placed the day before its cut and is repriced."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from aftersales.accounts.models import User
from aftersales.common.errors import DomainError
from aftersales.finance.demo import capture_demo_payments
from aftersales.finance.models import Refund
from aftersales.finance.services import approve_refund
from aftersales.orders import services as order_services
from aftersales.orders.models import PaymentMode, PriceKind, Product

from . import services
from .models import Claim

# Regular price cuts: sku, new price, hours before the seed, note. The last two cut so deep (over
# the 50% review threshold) that their claims wait for an agent (R-PP-7).
CUTS = [
    ("XM-15-256", "4299.00", 10, "官方调价 · Regular price cut"),
    ("APL-IPADAIR-M2", "4599.00", 84, "官方调价 · Regular price cut"),
    ("DELL-XPS14-9440", "11499.00", 84, "年末调价 · Year-end price cut"),
    ("OPPO-FX8-512", "4799.00", 84, "官方调价 · Regular price cut"),
    ("XM-TVSPRO85", "3999.00", 84, "清仓价 · Clearance price"),
    ("HW-VISION-SE3-55", "1299.00", 84, "新价格 · New price"),
]
# Set right once an agent found the cut above was a typing error (after its claim was rejected).
CORRECTIONS = [("HW-VISION-SE3-55", "2999.00", 0.25, "更正误录价格 · Typing error corrected (1299 → 2999)")]
# Prices that are never a basis (R-PP-4): sku, kind, price, hours before the seed, hours long, note.
PROMOTIONS = [
    ("XM-15-256", PriceKind.FLASH_SALE, "3999.00", 2, 24, "整点秒杀 · Flash sale"),
    ("APL-MBA13-M3", PriceKind.PRICING_ERROR, "899.00", 30, 2, "少录一位 8999 → 899 · Missing digit, flagged by staff"),
]
# Other customers' orders and what becomes of their claims: e-mail, sku, stage.
CLAIMS = [
    ("zhang.wei@example.cn", "APL-IPADAIR-M2", "compensated"),  # 200.00, paid as a coupon at once
    ("emily.carter@example.com", "DELL-XPS14-9440", "approved"),  # 500.00: finance approves it first
    ("liu.yang@example.cn", "OPPO-FX8-512", "revoked"),  # the phone came back (R-PP-6)
    ("chen.jing@example.cn", "XM-TVSPRO85", "submitted"),  # a 55% cut: an agent decides (R-PP-7)
    ("grace.liu@example.com", "HW-VISION-SE3-55", "rejected"),
    ("wang.fang@example.cn", "XM-15-256", "repriced"),  # COD, not shipped: the order costs less (R-PP-3)
]
# What a returned phone is declared to be (R-RET-6): untouched.
UNTOUCHED = {
    "accessories_complete": True,
    "water_exposure": False,
    "package_opened": False,
    "seal_intact": True,
    "powered_on": False,
    "activated": False,
    "card_inserted": False,
}


def seed(ctx) -> None:
    if Claim.objects.exists():
        return  # seeded already (seed_demo --force)
    agent, tech, finance = ctx.staff["agent"], ctx.staff["technician"], ctx.staff["finance"]
    now, mine = ctx.now, ctx.demo_orders
    storefront = mine["tv"].storefront

    def order_for(number: int, email: str, sku: str, cod: bool):
        """An order of one unit at the price before the cuts: prepaid six days ago and signed for two days
        ago, or (`cod`) cash on delivery, placed 20 hours ago and still in the warehouse."""
        customer = User.objects.filter(email__iexact=email).first()
        product = Product.objects.filter(sku=sku).first()
        if customer is None or product is None:
            return ctx.warn(f"seed_demo: no customer {email} or product {sku} for a price-protection demo order")
        if cod:  # nothing paid yet, no parcel yet
            placed, timeline, parcels = now - timedelta(hours=20), {}, []
        else:
            placed, signed = now - timedelta(days=6), now - timedelta(days=2)
            shipped = placed + timedelta(days=1)
            timeline = {"paid_at": placed + timedelta(minutes=8), "left_warehouse_at": shipped, "signed_for_at": signed}
            tracking = f"SF{1408830000000 + number:013d}"
            parcels = [
                {
                    "carrier": "SF Express 顺丰",
                    "tracking_number": tracking,
                    "shipped_at": shipped,
                    "signed_for_at": signed,
                }
            ]
        price = product.price
        return order_services.upsert_order(
            storefront=storefront,
            number=f"DS{timezone.localtime(placed):%y%m%d}{9000 + number}",
            customer={
                "email": customer.email,
                "full_name": customer.full_name,
                "phone": customer.phone,
                "region": customer.region,
            },
            payment_mode=PaymentMode.COD if cod else PaymentMode.PREPAID,
            placed_at=placed,
            **timeline,
            shipping_address=f"{customer.region} {customer.full_name} {customer.phone}",
            goods_total=price,
            paid_total=price,
            lines=[{"line_no": 1, "sku": sku, "quantity": 1, "unit_price": price, "paid_amount": price}],
            parcels=parcels,
        ).order

    # The orders first, at the prices before the cuts.
    orders = []
    for number, (email, sku, stage) in enumerate(CLAIMS, start=1):
        try:
            order = order_for(number, email, sku, cod=stage == "repriced")
        except DomainError as error:
            order = ctx.warn(f"seed_demo: price-protection demo order {sku} refused: {error.message}")
        if order is not None:
            orders.append((order, stage))
    capture_demo_payments()  # the provider holds their payments too, so a return's refund can be paid

    def price(sku, amount, kind, hours_ago, note, hours_long=None):
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            return ctx.warn(f"seed_demo: no product {sku} for a price-protection demo price")
        starts = now - timedelta(hours=hours_ago)
        try:
            return order_services.record_price_change(
                product=product,
                price=Decimal(amount),
                kind=kind,
                effective_at=starts,
                ends_at=starts + timedelta(hours=hours_long) if hours_long else None,
                note=note,
            )[0]
        except DomainError as error:
            return ctx.warn(f"seed_demo: demo price {sku} {amount} refused: {error.message}")

    cuts = [price(sku, amount, PriceKind.REGULAR, hours_ago, note) for sku, amount, hours_ago, note in CUTS]
    for sku, kind, amount, hours_ago, hours_long, note in PROMOTIONS:
        price(sku, amount, kind, hours_ago, note, hours_long)

    def pay(case):
        """Finance approves the compensation; a coupon is issued at once (R-FIN-2)."""
        for refund in Refund.objects.filter(case=case, state=Refund.State.PENDING_APPROVAL):
            approve_refund(refund=refund, actor=finance)
        case.refresh_from_db()
        return case

    def comes_back(case):
        """The customer returns the phone; the passed inspection takes the compensation back (R-PP-6)."""
        from returns import services as returns

        order = case.order
        returned = returns.submit_request(
            customer=order.customer,
            order=order,
            kind="return",
            reason="no_reason",
            lines=[{"line": line, "quantity": line.quantity} for line in order.lines.filter(gift_of=None)],
            condition=UNTOUCHED,
            description="用不惯，原封退回 · Not for me, sent back sealed",
        )
        if returned.status == "submitted":
            returned = returns.approve(case=returned, actor=agent)
        returned = returns.enter_tracking(
            case=returned, customer=order.customer, carrier="顺丰速运 SF Express", tracking_number="SF1408830099001"
        )
        returned = returns.receive(case=returned, actor=tech)
        returns.inspect(case=returned, actor=tech, passed=True, notes="未拆封 · Still sealed")
        case.refresh_from_db()
        return case

    def reject(case):
        return services.reject(
            case=case,
            actor=agent,
            reason_text=(
                "1299 是录入错误（应为 2999），已更正；误标价格不作为价保依据 · "
                "1299 was a typing error for 2999 and has been corrected; a pricing error is never a basis."
            ),
        )

    # stage → (steps in the days after sign-for, steps today)
    steps = {
        "compensated": ([], []),
        "approved": ([], []),
        "submitted": ([], []),
        "rejected": ([reject], []),
        "revoked": ([], [comes_back]),
        "repriced": ([], []),
    }

    def claim(order, earlier=(), today=()):
        try:
            case = services.file_claim(order=order, actor=order.customer, now=now)
            for step in earlier:
                case = step(case)
            if order.signed_for_at:  # after sign-for, so after the cuts; the COD order's claim is today's
                ctx.backdate(case, order)
            for step in today:
                case = step(case)
        except DomainError as error:
            return ctx.warn(f"seed_demo: price-protection demo claim on {order.number} stopped: {error.message}")
        return case

    # The demo customer: the TV's 1000.00 was approved by finance and paid as a coupon; the Xiaomi 15
    # on its way (cash on delivery, already shipped: credited, R-PP-3) can be claimed now.
    claim(mine["tv"], [pay])
    for order, stage in orders:
        claim(order, *steps[stage])
    for sku, amount, hours_ago, note in CORRECTIONS:
        price(sku, amount, PriceKind.REGULAR, hours_ago, note)
    # The sweep tells the customers whose orders a cut still reaches, the demo customer among them (in
    # the seed, so their notifications are tidied with the rest; the sweeps queued for after commit
    # find everyone told already).
    for entry in cuts:
        if entry is not None:
            services.sweep_price_drop(entry_id=entry.pk, now=now)
