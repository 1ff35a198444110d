"""The returns app's demo cases, made through its own services so they obey every rule and carry
their detail rows (lines, estimates, labels, refunds)."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from aftersales.common.errors import DomainError

from . import services

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
    agent, tech = ctx.staff["agent"], ctx.staff["technician"]
    mine = ctx.demo_orders

    def request(order, sku, kind, reason, description, steps=(), photo=False, quantity=1):
        line = next((line for line in order.lines.all() if line.product.sku == sku), None) if order else None
        if line is None:
            return ctx.warn(f"seed_demo: no line {sku} for a {kind} demo case")
        try:
            case = services.submit_request(
                customer=order.customer,
                order=order,
                kind=kind,
                reason=reason,
                lines=[{"line": line, "quantity": quantity}],
                condition=RESALEABLE,
                description=description,
                exchange_product=line.product if kind == "exchange" else None,
                photos=[_photo("photo.jpg")] if photo else [],
            )
            for step in steps:
                case.refresh_from_db()
                case = step(case)
        except DomainError as error:
            return ctx.warn(f"seed_demo: {kind}/{reason} demo case for {order.number} stopped: {error.message}")
        ctx.backdate(case, order)
        return case

    # The demo customer: a return waiting for the parcel (label, tracking), one refunded after
    # inspection, an exchange and a refund-only request waiting for an agent.
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
        "quality",
        "表盘有坏点 · Dead pixels on the watch face",
        photo=True,
    )
    request(
        mine["paid"],
        "APL-WATCH-S10-46",
        "refund_only",
        "not_received",
        "不想等了，未发货请退款 · Not shipped yet, please refund",
    )

    # Other customers: the agents' queue — a reissue for a missing accessory, then no-reason returns.
    reissued = False
    for order in ctx.other_orders:
        line = order.lines.filter(gift_of__isnull=True).select_related("product").first()
        if line is None:
            continue
        if not reissued:
            missing = "少发了配件 · An accessory was missing"
            reissued = bool(request(order, line.product.sku, "reissue", "missing_parts", missing, photo=True))
        else:
            request(order, line.product.sku, "return", "no_reason", "七天无理由退货 · 7-day no-reason return")
