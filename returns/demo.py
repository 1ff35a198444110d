"""The returns app's demo cases, made through its own services so they obey every rule and carry
their detail rows (lines, estimates, labels, refunds)."""

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from aftersales.cases.models import Case
from aftersales.common.errors import DomainError
from aftersales.finance.models import Refund
from aftersales.finance.services import approve_refund, mark_refund_paid
from aftersales.orders.models import Product

from . import selectors, services

# An untouched item: every declaration a product may be asked about (R-RET-6), answered well.
RESALEABLE = {
    "accessories_complete": True,
    "water_exposure": False,
    "package_opened": False,
    "seal_intact": True,
    "powered_on": False,
    "activated": False,
    "card_inserted": False,
}


def _photo(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (180, 180, 185)).save(buffer, format="JPEG", quality=80)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def seed(ctx) -> None:
    if Case.objects.filter(kind__in=selectors.RETURN_KINDS).exists():
        return  # seeded already (seed_demo --force): the demo returns are there
    agent, tech = ctx.staff["agent"], ctx.staff["technician"]
    mine = ctx.demo_orders

    def request(
        order, sku, kind, reason, description, steps=(), photo=False, quantity=1, exchange_for=None, report=False
    ):
        line = next((line for line in order.lines.all() if line.product.sku == sku), None) if order else None
        if line is None:
            return ctx.warn(f"seed_demo: no line {sku} for a {kind} demo case")
        if kind == "exchange":
            exchange_for = Product.objects.filter(sku=exchange_for).first() if exchange_for else line.product
        try:
            case = services.submit_request(
                customer=order.customer,
                order=order,
                kind=kind,
                reason=reason,
                lines=[{"line": line, "quantity": quantity}],
                condition=RESALEABLE,
                description=description,
                exchange_product=exchange_for,
                photos=[_photo("photo.jpg")] if photo else [],
                report=_photo("report.jpg") if report else None,
                report_valid_until=timezone.localdate(ctx.now) + timedelta(days=14) if report else None,
            )
            for step in steps:
                case.refresh_from_db()
                case = step(case)
        except DomainError as error:
            return ctx.warn(f"seed_demo: {kind}/{reason} demo case for {order.number} stopped: {error.message}")
        ctx.backdate(case, order)
        return case

    def ship(case, tracking):
        return services.ship_replacement(
            case=case, actor=agent, carrier="顺丰速运 SF Express", tracking_number=tracking
        )

    def pay_refund(case):
        for refund in Refund.objects.filter(case=case):
            refund = approve_refund(refund=refund, actor=ctx.staff["finance"])
            if refund.state == "pending_approval":  # above the threshold: a second approver
                refund = approve_refund(refund=refund, actor=ctx.staff["admin"])
            mark_refund_paid(refund=refund, gateway_reference=f"DEMO-{refund.pk:06d}")
        case.refresh_from_db()
        return case

    # The demo customer: a return waiting for the parcel (label, tracking), one inspected with its
    # refund waiting for finance (with the appliance's service-centre report), an exchange waiting
    # for an agent and a refund-only request.
    request(
        mine["phone"],
        "APL-AIRPODSPRO2",
        "return",
        "no_reason",
        "AirPods Pro 2: 不想要了，未拆封 · No longer needed, still sealed",
        steps=[lambda case: services.approve(case=case, actor=agent)],
    )
    request(
        mine["kitchen"],
        "MIDEA-MBFB40",
        "return",
        "quality",
        "电饭煲内胆涂层脱落 · Rice cooker: inner pot coating peeling",
        photo=True,
        report=True,
        steps=[
            lambda case: services.approve(case=case, actor=agent),
            lambda case: services.enter_tracking(
                case=case, customer=case.customer, carrier="顺丰速运 SF Express", tracking_number="SF1408829310577"
            ),
            lambda case: services.receive(case=case, actor=tech),
            lambda case: services.inspect(
                case=case, actor=tech, passed=True, notes="涂层脱落属实 · Coating defect confirmed"
            ),
        ],
    )
    request(
        mine["watch"],
        "HW-WATCH-GT5-46",
        "exchange",
        "no_reason",
        "想换成棕色复合表带款 · I would like the brown band instead",
        exchange_for="HW-WATCH-GT5-46-BR",  # a dearer variant: 200.00 to pay before it ships (R-RET-5)
    )
    request(
        mine["paid"],
        "APL-WATCH-S10-46",
        "refund_only",
        "not_received",
        "不想等了，未发货请退款 · Not shipped yet, please refund",
    )

    # Other customers: every later step once — a reissue shipped, a return refunded and closed, a
    # failed inspection sent back, an exchange for a dearer variant waiting for its difference —
    # then the agents' queue of no-reason returns.
    later = [
        (
            "reissue",
            "missing_parts",
            "少发了配件 · An accessory was missing",
            [lambda case: services.approve(case=case, actor=agent), lambda case: ship(case, "SF1408829310901")],
        ),
        (
            "return",
            "no_reason",
            "尺寸不合适 · Wrong size",
            [
                lambda case: services.approve(case=case, actor=agent) if case.status == "submitted" else case,
                lambda case: services.enter_tracking(
                    case=case, customer=case.customer, carrier="京东物流 JD Logistics", tracking_number="JDV0041882761"
                ),
                lambda case: services.receive(case=case, actor=tech),
                lambda case: services.inspect(case=case, actor=tech, passed=True, notes="完好 · As new"),
                pay_refund,
            ],
        ),
        (
            "return",
            "no_reason",
            "不喜欢 · Did not like it",
            [
                lambda case: services.approve(case=case, actor=agent) if case.status == "submitted" else case,
                lambda case: services.receive(case=case, actor=tech),
                lambda case: services.inspect(
                    case=case, actor=tech, passed=False, notes="已激活且有使用痕迹 · Activated and used (R-RET-6)"
                ),
                lambda case: services.send_back(
                    case=case, actor=agent, carrier="中通 ZTO", tracking_number="ZTO7731002458"
                ),
            ],
        ),
    ]

    def open_line(order, kind, reason):
        """The order's first line where the policy allows this request today."""
        for line, verdict in selectors.order_verdicts(order):
            if verdict.option(kind, reason) is not None:
                return line
        return None

    queue = ("return", "no_reason", "七天无理由退货 · 7-day no-reason return", [])
    for order in ctx.other_orders:
        kind, reason, text, steps = later[0] if later else queue
        line = open_line(order, kind, reason)
        case = (
            request(order, line.product.sku, kind, reason, text, steps, photo=reason != "no_reason") if line else None
        )
        if case is not None and later:
            later.pop(0)
