"""The warranty app's demo data, made through its own services: service centres, accessories, and
claims at every stage of the repair board (R-WAR-1 … R-WAR-10)."""

import io
from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from aftersales.cases import services as case_services
from aftersales.cases.models import Case, CaseKind
from aftersales.common.errors import DomainError
from aftersales.orders.models import Brand, Category, Order

from . import services
from .models import Accessory, ServiceCentre

ALL_DOCUMENTS = ["original_invoice", "warranty_card", "accessories", "packaging", "manual"]

CENTRES = [
    # name, regions, brands, address, phone, on-site visits
    (
        "索尼上海授权服务中心 · Sony Shanghai service centre",
        ["上海市", "江苏省", "浙江省"],
        ["Sony", "TCL"],
        "上海市徐汇区漕溪北路 88 号 3 楼",
        "021-64001111",
        True,
    ),
    (
        "联想北京服务站 · Lenovo Beijing service point",
        ["北京市"],
        ["Lenovo", "Dell"],
        "北京市海淀区中关村大街 27 号",
        "010-82001234",
        False,
    ),
    (
        "美的华南服务中心 · Midea South China service centre",
        ["广东省"],
        ["Midea", "Haier"],
        "广东省佛山市顺德区北滘镇美的大道 6 号",
        "0757-26338888",
        True,
    ),
    (
        "全国集中维修中心 · National repair centre",
        [],
        ["Apple", "HUAWEI", "Xiaomi", "OPPO", "Sony", "Lenovo", "Midea", "Haier", "TCL", "Dell"],
        "湖北省武汉市东湖高新区光谷大道 77 号",
        "400-820-8820",
        False,
    ),
]
ACCESSORIES = [
    # category slug, name, price, wearing part
    ("tvs", "遥控器 · Remote control", "129.00", False),
    ("laptops", "原装电池 · Original battery", "599.00", True),
    ("laptops", "电源适配器 · Power adapter", "249.00", False),
    ("home-appliances", "电饭煲内胆 · Rice-cooker inner pot", "159.00", True),
    ("home-appliances", "空调滤网 · Air-conditioner filter", "59.00", True),
]


def _photo(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 120, 130)).save(buffer, format="JPEG", quality=80)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def _catalogue() -> None:
    for name, regions, brands, address, phone, on_site in CENTRES:
        centre, created = ServiceCentre.objects.get_or_create(
            name=name, defaults={"regions": regions, "address": address, "phone": phone, "on_site": on_site}
        )
        if created:
            centre.brands.set(Brand.objects.filter(name__in=brands))
    for slug, name, price, wearing in ACCESSORIES:
        category = Category.objects.filter(slug=slug).first()
        if category is not None:
            Accessory.objects.get_or_create(
                category=category, name=name, defaults={"price": Decimal(price), "wearing_part": wearing}
            )


def seed(ctx) -> None:
    _catalogue()
    if Case.objects.filter(kind=CaseKind.WARRANTY).exists():
        return  # seeded already (seed_demo --force)
    agent, tech = ctx.staff["agent"], ctx.staff["technician"]
    now = ctx.now

    def claim(order, fault, description, steps=(), slugs=()):
        line = next(
            (
                ln
                for ln in order.lines.all()
                if ln.gift_of_id is None and (not slugs or ln.product.category.slug in slugs)
            ),
            None,
        )
        if line is None:
            return ctx.warn(f"seed_demo: no line for a warranty demo claim on {order.number}")
        try:
            case = services.file_claim(
                customer=order.customer,
                line=line,
                fault=fault,
                description=description,
                documents=ALL_DOCUMENTS,
                photos=[_photo("fault.jpg")],
            )
            for step in steps:
                case.refresh_from_db()
                case = step(case)
        except DomainError as error:
            return ctx.warn(f"seed_demo: warranty demo claim on {order.number} stopped: {error.message}")
        ctx.backdate(case, order)
        return case

    def received(days_ago):
        def step(case):
            case = services.enter_tracking(
                case=case, customer=case.customer, carrier="顺丰速运 SF Express", tracking_number="SF1402233445566"
            )
            return services.receive(case=case, actor=agent, now=now - timedelta(days=days_ago))

        return step

    def diagnosing(case):
        return services.start_diagnosis(case=case, actor=tech)

    # The demo customer: the laptop (signed 45 days ago, so only a repair is open) is on the bench.
    claim(
        ctx.demo_orders["laptop"],
        "controls",
        "键盘部分按键失灵 · Some keys on the keyboard stopped working",
        steps=[received(6), diagnosing],
    )

    # Other customers' older purchases, one per stage of the board.
    older = list(
        Order.objects.filter(
            signed_for_at__lte=now - timedelta(days=20),
            signed_for_at__gte=now - timedelta(days=300),
            cancelled_at=None,
            is_b2b=False,
            lines__product__category__slug__in=("tvs", "home-appliances", "laptops"),
        )
        .exclude(customer=ctx.staff["customer"])
        .exclude(cases__kind=CaseKind.WARRANTY)
        .distinct()
        .order_by("signed_for_at", "number")
        .prefetch_related("lines__product__category")[:5]
    )
    slugs = ("tvs", "home-appliances", "laptops")
    plans = [
        ("display", "开机无画面 · No picture after power on", [received(12), diagnosing]),
        (
            "noise_heat",
            "运行噪音很大 · Very loud when running",
            [
                received(9),
                diagnosing,
                lambda case: services.diagnose(
                    case=case,
                    actor=tech,
                    outcome="excluded",
                    notes="外壳有明显摔落痕迹 · Clear drop marks on the casing",
                    exclusion="accident",
                    explanation=(
                        "风扇支架因摔落断裂，不在保修范围内 · "
                        "The fan bracket broke in a drop, which the warranty does not cover."
                    ),
                    quote="380.00",
                    photos=[_photo("evidence.jpg")],
                ),
            ],
        ),
        (
            "no_power",
            "无法开机 · Does not switch on",
            [
                received(8),
                diagnosing,
                lambda case: services.diagnose(
                    case=case,
                    actor=tech,
                    outcome="excluded",
                    notes="电源板进水 · Liquid on the power board",
                    exclusion="accident",
                    explanation="电源板有进水腐蚀 · The power board shows liquid corrosion.",
                    photos=[_photo("evidence.jpg")],
                ),
                lambda case: services.appeal(
                    case=case, customer=case.customer, text="从未接触过水 · It was never near water."
                ),
            ],
        ),
        (
            "audio",
            "没有声音 · No sound",
            [
                received(10),
                diagnosing,
                lambda case: services.diagnose(
                    case=case, actor=tech, outcome="covered", notes="功放芯片故障 · Amplifier chip failed"
                ),
                lambda case: services.repaired(case=case, actor=tech),
                lambda case: services.ship_back(
                    case=case, actor=tech, carrier="顺丰速运 SF Express", tracking_number="SF1408800112233"
                ),
                lambda case: services.confirm_receipt(case=case, actor=case.customer),
            ],
        ),
    ]
    for order, (fault, description, steps) in zip(older, plans, strict=False):
        case = claim(order, fault, description, steps=steps, slugs=slugs)
        if case is not None and case.status == "closed":
            case_services.leave_feedback(case=case, customer=case.customer, rating=5, comment="修得很快 · Fast repair")
