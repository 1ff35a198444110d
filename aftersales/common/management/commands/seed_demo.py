"""manage.py seed_demo: a believable demo shop in a few seconds.

Categories with their after-sales knobs, brands, ~50 products with price histories (promotions and
one pricing error), ~30 customers, ~100 orders in every payment mode and state (B2B orders, gifts,
apportioned discounts, parcels), cases of every kind in several states, notifications, feedback,
one login per role and a demo storefront with a known token.

Orders go in through the storefront ingest service (`aftersales.orders.services.upsert_order`), so
every seeded order passed the same checks as a pushed one; cases go through the case services.
Random choices come from a fixed seed; dates are relative to now. The command refuses to run on a
database that already has data unless --force (existing rows are then updated, not duplicated), and
--if-empty quietly does nothing when orders exist.
"""

import logging
import random
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from aftersales.accounts import roles
from aftersales.accounts.demo import DEMO_TOTP_KEY_BASE32, ensure_demo_device
from aftersales.accounts.models import User
from aftersales.accounts.services import user_create
from aftersales.cases import services as case_services
from aftersales.cases import workflow
from aftersales.cases.models import Case, CaseEvent, CaseKind, Feedback, Notification
from aftersales.common import demo
from aftersales.finance.demo import capture_demo_payments, seed_goodwill
from aftersales.orders import services as order_services
from aftersales.orders.authentication import hash_token
from aftersales.orders.models import Brand, Category, Order, PaymentMode, PriceChange, PriceKind, Product, Storefront

PASSWORD = "demo-pass-2026"  # noqa: S105 (the demo's published password)
STOREFRONT_NAME = "Demo storefront"
STOREFRONT_TOKEN = "demo-storefront-token"  # noqa: S105
SEED = 20260601
CENT = Decimal("0.01")

LOGINS = [
    ("customer@demo.local", roles.CUSTOMER, "李明 Li Ming"),
    ("agent@demo.local", roles.AGENT, "周婷 Zhou Ting (agent)"),
    ("technician@demo.local", roles.TECHNICIAN, "吴昊 Wu Hao (technician)"),
    ("finance@demo.local", roles.FINANCE, "郑洁 Zheng Jie (finance)"),
    ("supervisor@demo.local", roles.SUPERVISOR, "孙浩 Sun Hao (supervisor)"),
]
ADMIN_EMAIL = "admin@demo.local"

# slug, name, knobs (R-RET-*, R-PP-2, R-WAR-*)
CATEGORIES = [
    ("phones", "Phones · 手机", {"price_protection_days": 7, "default_warranty_months": 12, "quality_return_days": 15}),
    ("laptops", "Laptops & tablets · 电脑平板", {"price_protection_days": 7, "default_warranty_months": 24}),
    ("tvs", "TVs · 电视", {"price_protection_days": 15, "default_warranty_months": 36, "quality_return_days": 15}),
    (
        "home-appliances",
        "Home appliances · 家用电器",
        {
            "price_protection_days": 7,
            "default_warranty_months": 36,
            "quality_return_days": 15,
            "quality_report_required": True,  # R-RET-8: appliances need a service-centre report
        },
    ),
    (
        "jewelry-watches",
        "Jewelry & watches · 珠宝钟表",
        {
            "no_reason_return_allowed": False,
            "never_returnable_kind": "jewelry",
            "exchange_days": 7,
            "default_warranty_months": 24,
        },
    ),
    ("accessories", "Accessories · 数码配件", {"default_warranty_months": 12}),
    (
        "groceries",
        "Groceries · 生鲜食品",
        {
            "no_reason_return_allowed": False,
            "never_returnable_kind": "perishable",
            "quality_return_days": 2,
            "exchange_allowed": False,
            "exchange_days": 0,
            "default_warranty_months": 0,
        },
    ),
    (
        "software",
        "Software · 软件",
        {
            "no_reason_return_allowed": False,
            "never_returnable_kind": "digital",
            "exchange_allowed": False,
            "exchange_days": 0,
            "default_warranty_months": 0,
        },
    ),
]

# name, warranty override in months (None: the category's)
BRANDS = [
    ("Apple", 12),
    ("HUAWEI", None),
    ("Xiaomi", None),
    ("OPPO", None),
    ("Lenovo", 36),
    ("Dell", None),
    ("Sony", None),
    ("TCL", None),
    ("Haier", None),
    ("Midea", None),
    ("Chow Tai Fook", None),
    ("Seiko", 36),
    ("Anker", 18),
    ("Three Squirrels", None),
    ("Microsoft", None),
]

# Variants of one model (an exchange may swap between them, R-RET-5): sku → model code.
MODELS = {
    "XM-15-256": "XM15",
    "XM-15-512": "XM15",
    "HW-WATCH-GT5-46": "HW-WATCH-GT5",
    "HW-WATCH-GT5-46-BR": "HW-WATCH-GT5",
    "HW-WATCH-GT5-41": "HW-WATCH-GT5",
}

# sku, name, brand, category, price, flags (E electronics, N serial number, S sealed, L luxury)
PRODUCTS = [
    ("APL-IP16P-256", "iPhone 16 Pro 256GB 沙漠色钛金属", "Apple", "phones", "8999", "ENS"),
    ("APL-IP16-128", "iPhone 16 128GB 黑色", "Apple", "phones", "5999", "ENS"),
    ("HW-M70P-512", "HUAWEI Mate 70 Pro 12GB+512GB 雅丹黑", "HUAWEI", "phones", "6999", "ENS"),
    ("HW-P70-256", "HUAWEI Pura 70 12GB+256GB 羽砂白", "HUAWEI", "phones", "5499", "ENS"),
    ("XM-15-256", "Xiaomi 15 12GB+256GB 黑色", "Xiaomi", "phones", "4499", "ENS"),
    ("XM-15-512", "Xiaomi 15 16GB+512GB 黑色", "Xiaomi", "phones", "4999", "ENS"),
    ("XM-RN14P-256", "Redmi Note 14 Pro 8GB+256GB 镜瓷白", "Xiaomi", "phones", "1399", "ENS"),
    ("OPPO-FX8-512", "OPPO Find X8 16GB+512GB 星野黑", "OPPO", "phones", "4999", "ENS"),
    ("OPPO-RENO13-256", "OPPO Reno13 12GB+256GB 蝶蝶紫", "OPPO", "phones", "2699", "ENS"),
    ("APL-MBA13-M3", "MacBook Air 13英寸 M3 16GB+512GB 午夜色", "Apple", "laptops", "8999", "ENS"),
    ("APL-IPADAIR-M2", "iPad Air 11英寸 M2 128GB WLAN", "Apple", "laptops", "4799", "ENS"),
    ("LNV-X1C-G12", "ThinkPad X1 Carbon Gen 12 Ultra 7 32GB 1TB", "Lenovo", "laptops", "12999", "EN"),
    ("LNV-Y9000P-24", "Legion Y9000P 2024 i9 RTX 4060 16英寸", "Lenovo", "laptops", "9499", "EN"),
    ("DELL-XPS14-9440", "Dell XPS 14 9440 Ultra 7 16GB 1TB", "Dell", "laptops", "11999", "EN"),
    ("HW-MBXP-24", "HUAWEI MateBook X Pro 2024 Ultra 9 32GB 2TB", "HUAWEI", "laptops", "13999", "EN"),
    ("XM-PAD7-256", "Xiaomi Pad 7 8GB+256GB 蓝色", "Xiaomi", "laptops", "1999", "EN"),
    ("SONY-XR65X90L", "Sony BRAVIA XR 65X90L 65英寸 4K", "Sony", "tvs", "6999", "EN"),
    ("TCL-75Q10K", "TCL 75Q10K Mini LED 75英寸", "TCL", "tvs", "6999", "EN"),
    ("XM-TVSPRO85", "Xiaomi TV S Pro 85 Mini LED", "Xiaomi", "tvs", "8999", "EN"),
    ("HW-VISION-SE3-55", "HUAWEI Vision 智慧屏 SE3 55英寸", "HUAWEI", "tvs", "2999", "EN"),
    ("TCL-55V8G", "TCL 55V8G 55英寸 4K 120Hz", "TCL", "tvs", "2199", "EN"),
    ("HAIER-BCD510", "Haier 510L 十字对开门冰箱 BCD-510WGHTD", "Haier", "home-appliances", "4299", "EN"),
    ("HAIER-EC6002", "Haier 60L 电热水器 EC6002-MC3", "Haier", "home-appliances", "1299", "EN"),
    ("MIDEA-MG100V58", "Midea 10kg 滚筒洗衣机 MG100V58WT", "Midea", "home-appliances", "2599", "EN"),
    ("MIDEA-KFR35GW", "Midea 风尊 1.5匹 新一级能效空调 KFR-35GW", "Midea", "home-appliances", "2899", "EN"),
    ("MIDEA-MBFB40", "Midea 4L 智能电饭煲 MB-FB40Simple111", "Midea", "home-appliances", "299", "E"),
    ("XM-ROBOT-X20P", "Xiaomi 米家扫拖机器人 X20+", "Xiaomi", "home-appliances", "3299", "EN"),
    ("HAIER-DISH-W30", "Haier 13套 嵌入式洗碗机 W30", "Haier", "home-appliances", "3999", "EN"),
    ("CTF-GOLD-BANGLE-10G", "周大福 足金古法手镯 约10g", "Chow Tai Fook", "jewelry-watches", "6880", "L"),
    ("CTF-DIA-RING-30", "周大福 PT950 钻石戒指 30分", "Chow Tai Fook", "jewelry-watches", "8800", "L"),
    ("CTF-PEARL-NECKLACE", "周大福 淡水珍珠项链 8-9mm", "Chow Tai Fook", "jewelry-watches", "1899", "L"),
    ("SEIKO-SPB143", "Seiko Prospex SPB143J1 潜水机械表", "Seiko", "jewelry-watches", "5900", "LN"),
    ("SEIKO-SRPD55", "Seiko 5 Sports SRPD55K1 自动机械表", "Seiko", "jewelry-watches", "2150", "N"),
    ("APL-AIRPODSPRO2", "AirPods Pro 2 (USB-C)", "Apple", "accessories", "1899", "ENS"),
    ("APL-WATCH-S10-46", "Apple Watch Series 10 GPS 46mm", "Apple", "accessories", "3199", "ENS"),
    ("HW-FREEBUDS-P4", "HUAWEI FreeBuds Pro 4 冰霜银", "HUAWEI", "accessories", "1499", "ENS"),
    ("HW-WATCH-GT5-46", "HUAWEI WATCH GT 5 46mm 黑色", "HUAWEI", "accessories", "1488", "EN"),
    ("HW-WATCH-GT5-46-BR", "HUAWEI WATCH GT 5 46mm 棕色复合表带", "HUAWEI", "accessories", "1688", "EN"),
    ("HW-WATCH-GT5-41", "HUAWEI WATCH GT 5 41mm 白色", "HUAWEI", "accessories", "1288", "EN"),
    ("XM-BAND9", "Xiaomi 手环 9 NFC版", "Xiaomi", "accessories", "269", "E"),
    ("SONY-WH1000XM5", "Sony WH-1000XM5 头戴式降噪耳机", "Sony", "accessories", "2499", "EN"),
    ("ANKER-737-PB", "Anker 737 移动电源 24000mAh 140W", "Anker", "accessories", "799", "E"),
    ("ANKER-NANO-65W", "Anker Nano 65W 氮化镓充电器", "Anker", "accessories", "199", "E"),
    ("ANKER-USBC-CABLE", "Anker 240W USB-C 编织数据线 1.8m", "Anker", "accessories", "79", ""),
    ("TSS-DAILYNUTS-750", "三只松鼠 每日坚果 750g/30袋", "Three Squirrels", "groceries", "129", ""),
    ("TSS-MANGO-500", "三只松鼠 芒果干 500g", "Three Squirrels", "groceries", "39.90", ""),
    ("TSS-PECAN-GIFT", "三只松鼠 坚果礼盒 1548g", "Three Squirrels", "groceries", "168", ""),
    ("TSS-CHERRY-2KG", "智利车厘子 JJ级 2kg 礼盒", "Three Squirrels", "groceries", "298", ""),
    ("TSS-BEEF-JERKY", "三只松鼠 风干牛肉 200g", "Three Squirrels", "groceries", "59.90", ""),
    ("MS-M365-FAMILY", "Microsoft 365 家庭版 12个月订阅", "Microsoft", "software", "498", ""),
    ("MS-WIN11-PRO", "Windows 11 专业版 数字许可证", "Microsoft", "software", "1299", ""),
    ("MS-VISIO-2024", "Visio 标准版 2024 数字许可证", "Microsoft", "software", "2099", ""),
    ("SONY-PSPLUS-12M", "PlayStation Plus 高级会员 12个月", "Sony", "software", "598", ""),
    ("MS-XBOX-GPU-3M", "Xbox Game Pass Ultimate 3个月", "Microsoft", "software", "269", ""),
]

CATALOG_PRICES = {sku: Decimal(price).quantize(CENT) for sku, _name, _brand, _category, price, _flags in PRODUCTS}

# Regular price cuts: sku → (earlier regular price, days ago the current price started).
PRICE_CUTS = {
    "SONY-XR65X90L": ("7999", 4),
    "APL-IP16-128": ("6199", 3),
    "HW-P70-256": ("5999", 35),
    "XM-15-256": ("4799", 50),
    "LNV-Y9000P-24": ("9999", 20),
    "MIDEA-KFR35GW": ("3299", 12),
    "TCL-55V8G": ("2499", 2),
    "SONY-WH1000XM5": ("2999", 40),
}
# Promotions and one pricing error: sku, kind, price, starts (days ago), length (hours), note.
PROMOTIONS = [
    ("XM-15-256", PriceKind.FLASH_SALE, "3999", 10, 2, "双11 秒杀 · Singles' Day flash sale"),
    ("XM-RN14P-256", PriceKind.FLASH_SALE, "1199", 1, 3, "整点秒杀 · Top-of-the-hour flash sale"),
    ("HW-M70P-512", PriceKind.LIMITED_TIME, "6499", 5, 7 * 24, "限时优惠 · Limited-time offer"),
    ("APL-IP16P-256", PriceKind.COUPON, "8599", 3, 7 * 24, "满8000减400 coupon price"),
    ("HAIER-BCD510", PriceKind.SPECIAL, "3799", 12, 7 * 24, "家电特惠 · Appliance special"),
    ("ANKER-737-PB", PriceKind.LIMITED_QUANTITY, "599", 8, 24, "限量 500 件 · First 500 units"),
    ("SEIKO-SRPD55", PriceKind.SPECIAL, "1799", 25, 5 * 24, "会员特价 · Members' special"),
    ("TSS-DAILYNUTS-750", PriceKind.COUPON, "99", 6, 10 * 24, "满99减30 coupon price"),
    ("TCL-75Q10K", PriceKind.PRICING_ERROR, "699", 15, 1, "Missing digit (6999 → 699); flagged by staff"),
]

CHINESE_NAMES = [
    ("王芳", "wang.fang"),
    ("张伟", "zhang.wei"),
    ("李娜", "li.na"),
    ("刘洋", "liu.yang"),
    ("陈静", "chen.jing"),
    ("杨磊", "yang.lei"),
    ("赵敏", "zhao.min"),
    ("黄丽", "huang.li"),
    ("周杰", "zhou.jie"),
    ("徐婷", "xu.ting"),
    ("孙悦", "sun.yue"),
    ("马超", "ma.chao"),
    ("朱琳", "zhu.lin"),
    ("胡晓东", "hu.xiaodong"),
    ("郭静怡", "guo.jingyi"),
    ("林晨", "lin.chen"),
    ("何雨桐", "he.yutong"),
    ("高翔", "gao.xiang"),
]
ENGLISH_NAMES = [
    "Emily Carter",
    "James Wilson",
    "Olivia Brown",
    "Daniel Smith",
    "Grace Liu",
    "Michael Chen",
    "Hannah Schmidt",
    "Lucas Martin",
    "Sophia Nguyen",
]
COMPANIES = [
    ("procurement@lianxin-tech.example.cn", "上海联信科技有限公司 采购部", "上海市"),
    ("it@yunfan-trading.example.cn", "杭州云帆贸易有限公司 IT 部", "浙江省杭州市"),
]
REGIONS = [
    ("北京市", "朝阳区", "建国路"),
    ("上海市", "浦东新区", "世纪大道"),
    ("广东省深圳市", "南山区", "科技园路"),
    ("广东省广州市", "天河区", "天河北路"),
    ("浙江省杭州市", "西湖区", "文三路"),
    ("四川省成都市", "高新区", "天府大道"),
    ("江苏省南京市", "鼓楼区", "中山北路"),
    ("湖北省武汉市", "洪山区", "珞喻路"),
    ("陕西省西安市", "雁塔区", "科技路"),
    ("重庆市", "渝北区", "金开大道"),
]
CARRIERS = ["SF Express 顺丰", "JD Logistics 京东物流", "ZTO 中通", "YTO 圆通"]
PICKUP_POINT = "门店自提 · Pickup: 上海徐汇旗舰店, 漕溪北路 88 号"
GIFTABLE = ["ANKER-NANO-65W", "XM-BAND9", "ANKER-USBC-CABLE", "TSS-MANGO-500"]


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@contextmanager
def celery_eager():
    """Run tasks queued by the seeded notifications in-process (they find nothing to e-mail)."""
    from aftersales.celery import app

    before, trace_log = app.conf.task_always_eager, logging.getLogger("celery.app.trace")
    level = trace_log.level
    app.conf.task_always_eager = True
    trace_log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        app.conf.task_always_eager = before
        trace_log.setLevel(level)


class Command(BaseCommand):
    help = "Fill the database with a believable demo shop (orders, catalog, cases, one login per role)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Seed even if the database already has data.")
        parser.add_argument("--if-empty", action="store_true", help="Seed only when there are no orders yet.")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="Printed links start with this.")

    def handle(self, *args, force=False, if_empty=False, base_url="", **options):
        if if_empty and Order.objects.exists():
            self.stdout.write("seed_demo: orders exist already; nothing to do.")
            return
        if not force and not if_empty and (Order.objects.exists() or Product.objects.exists()):
            self.stdout.write(
                "seed_demo: the database already has data; nothing was changed. Use --force to seed anyway."
            )
            return
        self.rng = random.Random(SEED)  # noqa: S311 (demo data, not secrets)
        self.now = timezone.now().replace(second=0, microsecond=0)
        self.order_seq = 0
        with celery_eager(), transaction.atomic():
            self._seed()
        self._print_summary(base_url.rstrip("/"))

    # --- the steps ------------------------------------------------------------------------------

    def _seed(self):
        self.password_hash = make_password(PASSWORD)  # hashed once: the slow part of creating logins
        self.staff = self._logins()
        self.storefront = self._storefront()
        self._catalog()
        self.customers = self._customers()
        self._demo_customer_orders()
        self._other_orders()
        capture_demo_payments()  # the provider holds the demo shop's online payments
        self._cases()
        seed_goodwill(order=self.demo_orders["kitchen"], agent=self.staff[roles.AGENT])
        self._tidy_notifications()

    def _logins(self) -> dict[str, User]:
        users = {}
        for email, role, name in LOGINS:
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                extra = {"phone": "13900001234", "region": "上海市"} if role == roles.CUSTOMER else {}
                user = user_create(email=email, password=None, role=role, full_name=name, **extra)
            users[role] = user
        admin = User.objects.filter(email__iexact=ADMIN_EMAIL).first() or User.objects.create_superuser(
            email=ADMIN_EMAIL, password=None, full_name="Admin"
        )
        emails = [email for email, _, _ in LOGINS] + [ADMIN_EMAIL]
        User.objects.filter(email__in=emails).update(password=self.password_hash, is_active=True)
        users["admin"] = admin
        for user in users.values():
            if user.is_staff:  # STAFF_TWO_FACTOR: the published demo key (aftersales.accounts.demo)
                ensure_demo_device(user)
        return users

    def _storefront(self) -> Storefront:
        storefront = Storefront.objects.filter(name=STOREFRONT_NAME).first()
        if storefront is None:
            storefront, _ = order_services.create_storefront(name=STOREFRONT_NAME, token=STOREFRONT_TOKEN)
        elif storefront.token_sha256 != hash_token(STOREFRONT_TOKEN):
            Storefront.objects.filter(pk=storefront.pk).update(
                token_sha256=hash_token(STOREFRONT_TOKEN), token_hint=STOREFRONT_TOKEN[:8], active=True
            )
        return storefront

    def _catalog(self):
        for slug, name, knobs in CATEGORIES:
            Category.objects.update_or_create(slug=slug, defaults={"name": name, **knobs})
        for name, months in BRANDS:
            Brand.objects.update_or_create(name=name, defaults={"warranty_months": months})
        created = set()
        # --force keeps the prices a product has now: the feature demos' price cuts are its history.
        current = dict(Product.objects.values_list("sku", "price"))
        for sku, name, brand, category, _price, flags in PRODUCTS:
            result = order_services.upsert_product(
                sku=sku,
                name=name,
                brand=brand,
                category=category,
                price=current.get(sku, CATALOG_PRICES[sku]),
                is_electronics="E" in flags,
                has_serial_number="N" in flags,
                is_sealed="S" in flags,
                is_luxury="L" in flags,
                model_code=MODELS.get(sku, ""),
            )
            if result.created:
                created.add(sku)
        self.products = {p.sku: p for p in Product.objects.select_related("category")}
        # The history of new products: launch prices half a year ago, later regular cuts,
        # promotions, one pricing error (replacing the "price set now" entry of the upsert).
        PriceChange.objects.filter(product__sku__in=created).delete()
        history = []
        for sku, product in self.products.items():
            if sku not in created:
                continue
            launch = self.now - timedelta(days=180)
            if sku in PRICE_CUTS:
                old, days = PRICE_CUTS[sku]
                history.append(PriceChange(product=product, price=money(old), effective_at=launch, note="上市价"))
                history.append(PriceChange(product=product, price=product.price, effective_at=self.days_ago(days)))
            else:
                history.append(PriceChange(product=product, price=product.price, effective_at=launch, note="上市价"))
        for sku, kind, price, days, hours, note in PROMOTIONS:
            if sku not in created:
                continue
            start = self.days_ago(days)
            history.append(
                PriceChange(
                    product=self.products[sku],
                    price=money(price),
                    kind=kind,
                    effective_at=start,
                    ends_at=start + timedelta(hours=hours),
                    note=note,
                )
            )
        PriceChange.objects.bulk_create(history)

    def _customers(self) -> list[User]:
        people = [(f"{email}@example.cn", name) for name, email in CHINESE_NAMES]
        people += [(f"{name.lower().replace(' ', '.')}@example.com", name) for name in ENGLISH_NAMES]
        customers = []
        for index, (email, name) in enumerate(people):
            region = REGIONS[index % len(REGIONS)][0]
            phone = f"1{self.rng.choice('3589')}{self.rng.randrange(10**9):09d}"  # drawn always: same seed, same data
            user = User.objects.filter(email__iexact=email).first() or user_create(
                email=email, password=None, role=roles.CUSTOMER, full_name=name, phone=phone, region=region
            )
            customers.append(user)
        for email, name, region in COMPANIES:
            user = User.objects.filter(email__iexact=email).first() or user_create(
                email=email, password=None, role=roles.CUSTOMER, full_name=name, phone="021-64001234", region=region
            )
            customers.append(user)
        return customers

    # --- orders ---------------------------------------------------------------------------------

    def days_ago(self, days: float, hours: float = 0) -> datetime:
        return self.now - timedelta(days=days, hours=hours)

    def _demo_customer_orders(self):
        """The demo login's own orders: every state and payment mode, gifts, discounts, pickup."""
        me = self.staff[roles.CUSTOMER]
        d = self.days_ago
        self.demo_orders = {
            "phone": self._order(
                me,
                [("APL-IP16P-256", 1, [("ANKER-NANO-65W", 1)]), ("APL-AIRPODSPRO2", 1, [])],
                "prepaid",
                placed=d(6),
                left=d(5),
                signed=d(3),
                coupon="400",
            ),
            "tv": self._order(me, [("SONY-XR65X90L", 1, [])], "prepaid", placed=d(7), left=d(5), signed=d(3, 4)),
            "laptop": self._order(me, [("LNV-X1C-G12", 1, [])], "cod", placed=d(47), left=d(46), signed=d(45)),
            "kitchen": self._order(
                me,
                [("MIDEA-MBFB40", 1, []), ("TSS-DAILYNUTS-750", 2, [])],
                "prepaid",
                placed=d(14),
                left=d(13),
                signed=d(12),
            ),
            "in_transit": self._order(me, [("XM-15-256", 1, [("XM-BAND9", 1)])], "cod", placed=d(1, 20), left=d(0, 22)),
            "paid": self._order(me, [("APL-WATCH-S10-46", 1, [])], "prepaid", placed=d(0, 6)),
            "unpaid": self._order(me, [("MS-M365-FAMILY", 1, [])], "prepaid", placed=d(0, 1), pay=False),
            "cancelled": self._order(me, [("CTF-GOLD-BANGLE-10G", 1, [])], "prepaid", placed=d(9), cancelled=d(8, 20)),
            "pickup": self._order(
                me, [("HW-FREEBUDS-P4", 1, [])], "pickup", placed=d(9), left=d(8, 22), signed=d(8, 18)
            ),
            "watch": self._order(
                me,
                [("HW-WATCH-GT5-46", 1, []), ("ANKER-737-PB", 1, [])],
                "prepaid",
                placed=d(7),
                left=d(6, 20),
                signed=d(5),
                coupon="100",
            ),
            "software": self._order(me, [("MS-WIN11-PRO", 1, [])], "prepaid", placed=d(30), left=d(30), signed=d(30)),
        }

    def _other_orders(self):
        rng, d = self.rng, self.days_ago
        main_skus = [sku for sku in self.products if sku not in ("ANKER-USBC-CABLE",)]
        people, companies = self.customers[: -len(COMPANIES)], self.customers[-len(COMPANIES) :]
        for customer in people:
            for _ in range(rng.randint(2, 4)):
                mode = rng.choices(["prepaid", "cod", "pickup"], weights=[70, 20, 10])[0]
                state = rng.choices(["signed", "shipped", "paid", "placed", "cancelled"], weights=[62, 12, 9, 7, 10])[0]
                if state == "paid" and mode == "cod":
                    state = "placed"
                picks = rng.sample(main_skus, rng.choices([1, 2, 3], weights=[60, 30, 10])[0])
                lines = []
                for sku in picks:
                    quantity = rng.randint(1, 3) if CATALOG_PRICES[sku] < 300 else 1
                    gifts = []
                    if self.products[sku].category.slug in ("phones", "laptops", "tvs") and rng.random() < 0.4:
                        gifts = [(rng.choice(GIFTABLE), 1)]
                    lines.append((sku, quantity, gifts))
                coupon = rng.choice(["100", "200", "300", "500"]) if rng.random() < 0.35 else None
                times = {}
                if state == "signed":
                    signed = d(rng.uniform(0.2, 60))
                    left = signed - timedelta(hours=rng.uniform(18, 72))
                    times = {"placed": left - timedelta(hours=rng.uniform(2, 30)), "left": left, "signed": signed}
                elif state == "shipped":
                    left = d(rng.uniform(0.1, 2.5))
                    times = {"placed": left - timedelta(hours=rng.uniform(2, 30)), "left": left}
                elif state in ("paid", "placed"):
                    times = {"placed": d(0, rng.uniform(0.5, 20)), "pay": state == "paid"}
                else:
                    placed = d(rng.uniform(1, 50))
                    times = {"placed": placed, "cancelled": placed + timedelta(hours=rng.uniform(0.5, 20))}
                self._order(customer, lines, mode, coupon=coupon, **times)
        for customer in companies:
            self._order(
                customer,
                [("LNV-X1C-G12", rng.choice([10, 20]), []), ("ANKER-NANO-65W", 20, [])],
                "prepaid",
                placed=d(40),
                left=d(38),
                signed=d(36),
                coupon="6000",
                b2b=True,
            )
            self._order(
                customer,
                [("HAIER-EC6002", 4, []), ("MIDEA-KFR35GW", 6, [])],
                "prepaid",
                placed=d(16),
                left=d(15),
                signed=d(13),
                coupon="1500",
                b2b=True,
            )
            self._order(customer, [("MS-M365-FAMILY", 25, [])], "prepaid", placed=d(2), b2b=True)

    def _order(
        self,
        customer,
        lines,
        mode,
        *,
        placed,
        left=None,
        signed=None,
        cancelled=None,
        pay=True,
        coupon=None,
        b2b=False,
    ) -> Order:
        """Build a consistent body (discount apportioned over the main lines, gifts at zero) and
        push it through the ingest service."""
        rng = self.rng
        self.order_seq += 1
        number = f"DS{timezone.localtime(placed):%y%m%d}{self.order_seq:04d}"
        body_lines, line_no = [], 0
        for sku, quantity, gifts in lines:
            line_no += 1
            main_no = line_no
            unit = self._price_at(sku, placed)
            body_lines.append({"line_no": main_no, "sku": sku, "quantity": quantity, "unit_price": unit})
            for gift_sku, gift_qty in gifts:
                line_no += 1
                price = CATALOG_PRICES[gift_sku]
                body_lines.append(
                    {
                        "line_no": line_no,
                        "sku": gift_sku,
                        "quantity": gift_qty,
                        "unit_price": price,
                        "discount": price * gift_qty,
                        "gift_of_line_no": main_no,
                    }
                )
        mains = [line for line in body_lines if "gift_of_line_no" not in line]
        main_total = sum(line["unit_price"] * line["quantity"] for line in mains)
        coupon = money(coupon) if coupon and money(coupon) < main_total / 2 else Decimal("0.00")
        remaining = coupon
        for index, line in enumerate(mains):
            value = line["unit_price"] * line["quantity"]
            share = remaining if index == len(mains) - 1 else money(coupon * value / main_total)
            line["discount"], remaining = share, remaining - share
        for line in body_lines:
            line["paid_amount"] = line["unit_price"] * line["quantity"] - line["discount"]
        goods = sum(line["unit_price"] * line["quantity"] for line in body_lines)
        discounts = sum(line["discount"] for line in body_lines)
        fee = money("10") if goods - discounts < 99 and mode != PaymentMode.PICKUP else money("0")

        paid_at = None
        if mode == PaymentMode.PREPAID and pay:
            paid_at = placed + timedelta(minutes=rng.randint(1, 25))
        elif mode == PaymentMode.COD and signed:
            paid_at = signed  # cash on delivery: paid when signed for
        elif mode == PaymentMode.PICKUP and pay:
            paid_at = signed or placed + timedelta(minutes=rng.randint(1, 25))
        if cancelled and mode != PaymentMode.PREPAID:
            paid_at = None
        parcels = []
        digital_only = all(self.products[line["sku"]].category.slug == "software" for line in body_lines)
        if left and mode != PaymentMode.PICKUP and not digital_only:
            for _ in range(2 if len(mains) > 1 and rng.random() < 0.4 else 1):
                carrier = rng.randrange(len(CARRIERS))
                parcels.append(
                    {
                        "carrier": CARRIERS[carrier],
                        "tracking_number": self._tracking(carrier),
                        "shipped_at": left,
                        "signed_for_at": signed,
                    }
                )
        region, district, street = self._address_parts(customer)
        address = (
            PICKUP_POINT
            if mode == PaymentMode.PICKUP
            else f"{region}{district}{street} {rng.randint(1, 999)} 号 {rng.randint(1, 30)} 栋 "
            f"{rng.randint(1, 32)}{rng.randint(1, 4):02d} 室\n{customer.full_name} {customer.phone}"
        )
        result = order_services.upsert_order(
            storefront=self.storefront,
            number=number,
            customer={
                "email": customer.email,
                "full_name": customer.full_name,
                "phone": customer.phone,
                "region": customer.region,
            },
            payment_mode=mode,
            is_b2b=b2b,
            currency="CNY",
            placed_at=placed,
            paid_at=paid_at,
            left_warehouse_at=left,
            signed_for_at=signed,
            cancelled_at=cancelled,
            shipping_address=address,
            goods_total=goods,
            discount_total=discounts,
            shipping_fee=fee,
            paid_total=goods - discounts + fee,
            lines=body_lines,
            parcels=parcels,
        )
        return result.order

    def _price_at(self, sku, when) -> Decimal:
        """The regular price on the day the order was placed (the catalogue's, so an order pushed again by
        --force is the same order whatever prices the feature demos cut since)."""
        if sku in PRICE_CUTS:
            old, days = PRICE_CUTS[sku]
            if when < self.days_ago(days):
                return money(old)
        return CATALOG_PRICES[sku]

    def _tracking(self, carrier: int) -> str:
        """Tracking numbers shaped like each carrier's (SF…, JDV…, 7…, YT…)."""
        digits = self.rng.randrange(10**12)
        return [f"SF{digits:013d}", f"JDV{digits:012d}", f"7{digits:013d}", f"YT{digits:013d}"][carrier]

    def _address_parts(self, customer):
        for region, district, street in REGIONS:
            if region == customer.region:
                return region, district, street
        return self.rng.choice(REGIONS)

    # --- cases ----------------------------------------------------------------------------------

    def _cases(self):
        agent = self.staff[roles.AGENT]
        mine = self.demo_orders
        self._case(CaseKind.TICKET, mine["tv"], "如何开启杜比视界？· How do I turn on Dolby Vision?", [])
        self._case(
            CaseKind.TICKET,
            mine["pickup"],
            "耳机连接 Mac 断断续续 · Earbuds keep disconnecting from my Mac",
            [("accept", agent), ("resolve", agent), ("close", agent)],
            feedback=(4, "问题解决了，谢谢 · Solved, thanks"),
        )

        signed = list(
            Order.objects.filter(signed_for_at__isnull=False, cancelled_at__isnull=True, is_b2b=False)
            .exclude(customer=self.staff[roles.CUSTOMER])
            .order_by("-signed_for_at", "number")
            .prefetch_related("lines__product__category")
        )

        def order_with(*slugs):
            # Oldest first: the recent orders are left for the feature apps' seeders, whose
            # requests must fall inside today's after-sales windows.
            for order in reversed(signed):
                if any(line.product.category.slug in slugs for line in order.lines.all()):
                    signed.remove(order)
                    return order
            return signed.pop() if signed else None

        plans = [
            (CaseKind.TICKET, ("laptops",), "驱动下载 · Where can I download drivers?", [("ask_customer", agent)]),
            (CaseKind.TICKET, ("software",), "激活码无效 · Activation key not accepted", [("accept", agent)]),
        ]
        for kind, slugs, subject, steps, *rest in plans:
            order = order_with(*slugs)
            if order is not None:
                self._case(kind, order, subject, steps, feedback=rest[0] if rest else None)

        # Returns, exchanges, reissues, refund only, warranty and price-protection claims: the
        # feature apps seed their own, through their services (aftersales.common.demo).
        context = demo.DemoContext(
            now=self.now,
            rng=self.rng,
            staff=self.staff,
            demo_orders=self.demo_orders,
            other_orders=[order for order in signed if order.signed_for_at >= self.days_ago(6)],
            backdate=self._backdate,
            warn=self.stderr.write,
        )
        for seeder in demo.seeders():
            seeder(context)

    def _case(self, kind, order, subject, steps, *, note="", feedback=None) -> Case | None:
        if order.cases.filter(kind=kind).exists():
            return None  # --force on seeded data: the case is there already
        customer = order.customer
        case = case_services.open_case(
            kind=kind, customer=customer, order=order, subject=subject, actor=customer, note=subject
        )
        flow = workflow.get(kind)
        for step in steps:
            name, actor, extra = (*step, {})[:3]
            transition = flow.transitions.get(name)
            if transition is None or case.status not in transition.sources:
                self.stderr.write(f"seed_demo: {kind} has no step {name!r} from {case.status!r}; stopped there.")
                break
            if extra.get("deadline_action") not in flow.deadline_actions:
                extra = {}
            who = None if transition.allowed == "system" else customer if transition.allowed == "customer" else actor
            case = case_services.transition(case=case, name=name, actor=who, note=note, **extra)
        if feedback and case.closed_at:
            case_services.leave_feedback(case=case, customer=customer, rating=feedback[0], comment=feedback[1])
        self._backdate(case, order)
        return case

    def _backdate(self, case, order):
        """Spread the case's history over the days after the order was signed for."""
        events = list(case.events.order_by("at", "id"))
        latest = self.now - timedelta(minutes=30)
        start = (order.signed_for_at or order.placed_at) + timedelta(hours=self.rng.uniform(3, 30))
        start = min(start, latest - timedelta(hours=len(events)))
        step = min(timedelta(hours=20), (latest - start) / len(events))
        at = start
        for event in events:
            event.at = at
            at += step
        CaseEvent.objects.bulk_update(events, ["at"])
        last = events[-1].at
        Case.objects.filter(pk=case.pk).update(opened_at=events[0].at, closed_at=last if case.closed_at else None)
        Notification.objects.filter(case=case).update(created_at=last)
        Feedback.objects.filter(case=case).update(created_at=last)

    def _tidy_notifications(self):
        """Seeded history is not news: mark it e-mailed, and read except the demo login's latest."""
        Notification.objects.filter(emailed_at__isnull=True).update(emailed_at=self.now)
        me = self.staff[roles.CUSTOMER]
        latest = list(Notification.objects.filter(user=me).order_by("-created_at", "-id").values_list("pk", flat=True))
        Notification.objects.filter(read_at__isnull=True).exclude(pk__in=latest[:3]).update(read_at=self.now)

    # --- the summary ----------------------------------------------------------------------------

    def _print_summary(self, base_url: str):
        out = self.stdout.write
        out(self.style.SUCCESS("Demo shop ready."))
        out(
            f"  {Product.objects.count()} products, {User.objects.filter(groups__name=roles.CUSTOMER).count()} "
            f"customers, {Order.objects.count()} orders, {Case.objects.count()} cases"
        )
        out(f"  Portal:   {base_url}/")
        out(f"  API docs: {base_url}/api/docs/")
        out(f"  Admin:    {base_url}/admin/")
        out("")
        out(f"  {'Login':<26}{'Role':<13}Password")
        for email, role, _ in LOGINS:
            out(f"  {email:<26}{role:<13}{PASSWORD}")
        out(f"  {ADMIN_EMAIL:<26}{'superuser':<13}{PASSWORD}")
        out("")
        out("  Staff logins then ask for a two-factor code: add this key to an authenticator app")
        out(f"  ({DEMO_TOTP_KEY_BASE32}) or run `.venv/bin/python manage.py totp_code agent@demo.local`.")
        out("")
        out(f"  Storefront {STOREFRONT_NAME!r} token: {STOREFRONT_TOKEN}")
        out(f"  Push an order: PUT {base_url}/api/v1/storefront/orders/<number>")
        out(f"                 Authorization: Storefront {STOREFRONT_TOKEN}")
