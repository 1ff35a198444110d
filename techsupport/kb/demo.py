"""The knowledge-base demo (R-SUP-5): articles in English and Chinese for the demo products (manuals,
usage and care guides, an FAQ, a video tutorial), two firmware releases with small generated files
stored, sized and hashed by `services.add_release`, and a few questions asked before a ticket: answered
by an article, or a ticket after all (the demo customer's Dolby Vision ticket)."""

from datetime import timedelta

from django.core.files.base import ContentFile

from aftersales.accounts import roles
from aftersales.accounts.models import User
from aftersales.cases.models import Case, CaseKind
from aftersales.orders.models import Category, Product

from ..models import Article
from . import selectors, services

EN, ZH = "en", "zh-hans"

# slug, title, kind, language, skus, category slugs, summary, body, video link
ARTICLES = [
    (
        "bravia-dolby-vision",
        "How to turn on Dolby Vision on your BRAVIA TV",
        Article.Kind.GUIDE,
        EN,
        ["SONY-XR65X90L"],
        [],
        "Dolby Vision switches on by itself for content that has it; here is how to check and tune it.",
        "Dolby Vision is used automatically when the app or disc plays Dolby Vision content and the TV's "
        "software is up to date.\n\n"
        "1. Press the Quick Settings button on the remote and open Picture.\n"
        "2. Set Picture mode to Dolby Vision Bright or Dolby Vision Dark.\n"
        "3. For an external player, open Settings > Channels & Inputs > External inputs > HDMI signal format "
        "and choose Enhanced format (Dolby Vision) for its HDMI port.\n\n"
        "No Dolby Vision badge? Update the TV's software first (Downloads), then restart the app.",
        "",
    ),
    (
        "bravia-dolby-vision-zh",
        "如何在 BRAVIA 电视上开启杜比视界",
        Article.Kind.GUIDE,
        ZH,
        ["SONY-XR65X90L"],
        [],
        "播放杜比视界内容时电视会自动启用；以下是检查和调整的方法。",
        "当应用或光盘播放杜比视界内容、且电视软件为最新版本时，电视会自动使用杜比视界。\n\n"
        "1. 按遥控器上的快速设置键，打开“画面”。\n"
        "2. 将画面模式设为“杜比视界 明亮”或“杜比视界 暗”。\n"
        "3. 外接播放器：设置 > 频道和输入 > 外部输入 > HDMI 信号格式，为该 HDMI 端口选择“增强格式（杜比视界）”。\n\n"
        "看不到杜比视界标志？请先在“下载”页面更新电视软件，然后重新打开应用。",
        "",
    ),
    (
        "watch-gt5-firmware-zh",
        "HUAWEI WATCH GT 5 固件升级说明",
        Article.Kind.MANUAL,
        ZH,
        ["HW-WATCH-GT5-46", "HW-WATCH-GT5-46-BR", "HW-WATCH-GT5-41"],
        [],
        "通过运动健康 App 升级手表固件，升级前请保持电量 30% 以上。",
        "升级前：手表电量不低于 30%，手机已连接网络并开启蓝牙。\n\n"
        "1. 打开华为运动健康 App，进入“设备”，选择您的手表。\n"
        "2. 点击“固件更新”，按提示下载并安装。\n"
        "3. 升级过程中请勿关闭手表或断开蓝牙，约需 15 分钟。\n\n"
        "也可以在“下载”页面获取固件文件和 SHA-256 校验值。",
        "",
    ),
    (
        "watch-gt5-pairing",
        "Pairing your HUAWEI WATCH GT 5 with a phone",
        Article.Kind.GUIDE,
        EN,
        ["HW-WATCH-GT5-46", "HW-WATCH-GT5-46-BR", "HW-WATCH-GT5-41"],
        [],
        "Pair the watch through the HUAWEI Health app; it takes about two minutes.",
        "Install HUAWEI Health on your phone and switch Bluetooth on.\n\n"
        "Open the app, tap Devices > Add and choose WATCH GT 5. Confirm the code shown on the watch.\n\n"
        "If pairing fails, restart the watch and the phone, then try again. A watch paired with another phone "
        "must be reset first: Settings > System > Reset.",
        "",
    ),
    (
        "rice-cooker-care-zh",
        "电饭煲内胆清洁与保养",
        Article.Kind.CARE,
        ZH,
        ["MIDEA-MBFB40"],
        [],
        "正确清洁内胆，延长涂层寿命。",
        "每次使用后待内胆冷却，用软布或海绵加中性洗洁精清洗，勿用钢丝球。\n\n"
        "内胆外壁和加热盘须保持干燥、无米粒，否则可能导致加热不均或异响。\n\n"
        "涂层出现明显脱落时，请停止使用并联系售后更换内胆。",
        "",
    ),
    (
        "rice-cooker-care",
        "Caring for your rice cooker's inner pot",
        Article.Kind.CARE,
        EN,
        ["MIDEA-MBFB40"],
        [],
        "Clean the inner pot the right way and its coating lasts for years.",
        "Let the pot cool, then wash it with a soft sponge and mild detergent. Never use steel wool.\n\n"
        "Keep the outside of the pot and the heating plate dry and free of rice grains: they cause uneven "
        "cooking and clicking noises.\n\n"
        "If the coating peels, stop using the pot and contact us for a replacement.",
        "",
    ),
    (
        "phone-not-charging",
        "My phone does not charge: what to check first",
        Article.Kind.FAQ,
        EN,
        [],
        ["phones"],
        "Most charging problems are the cable, the adapter or lint in the port.",
        "Try another cable and adapter you know work; a damaged cable is the most common cause.\n\n"
        "Look into the charging port with a torch: lint packs in over months. Remove it gently with a "
        "wooden toothpick, never with metal.\n\n"
        "Restart the phone while it is plugged in. Still not charging? Open a ticket and tell us what you tried.",
        "",
    ),
    (
        "phone-not-charging-zh",
        "手机无法充电怎么办？",
        Article.Kind.FAQ,
        ZH,
        [],
        ["phones"],
        "充电问题多半出在数据线、充电器或充电口里的灰尘。",
        "请换一根确认可用的数据线和充电器再试，数据线损坏是最常见的原因。\n\n"
        "用手电筒检查充电口，长期使用会积灰，可用木牙签轻轻清理，切勿使用金属物品。\n\n"
        "插着充电器重启手机。仍无法充电？请提交工单并说明您已尝试的步骤。",
        "",
    ),
    (
        "iphone-16-setup-video",
        "Video: setting up your new iPhone 16",
        Article.Kind.VIDEO,
        EN,
        ["APL-IP16P-256", "APL-IP16-128"],
        [],
        "A five-minute video: Quick Start, moving your data and turning on Face ID.",
        "The video shows Quick Start with your old iPhone, moving apps and data, and setting up Face ID "
        "and Apple Pay.\n\nKeep both phones charged and close together while the data moves.",
        "https://videos.example.com/tutorials/iphone-16-setup",
    ),
]

# sku, version, days ago, notes, file name, size in bytes
RELEASES = [
    (
        "HW-WATCH-GT5-46",
        "5.0.0.120",
        12,
        "Improves heart-rate accuracy during swimming and fixes a battery drain with always-on display.\n\n"
        "提升游泳心率准确度，修复常亮显示耗电问题。",
        "watch-gt5-5.0.0.120.bin",
        48 * 1024,
    ),
    (
        "SONY-XR65X90L",
        "6.7.1.100",
        30,
        "Dolby Vision picture improvements for HDMI sources; a fix for audio dropouts with eARC soundbars.\n\n"
        "改进 HDMI 输入的杜比视界画面；修复 eARC 回音壁音频中断。",
        "bravia-x90l-6.7.1.100.pkg",
        64 * 1024,
    ),
]

# Questions asked before a ticket: customer e-mail, question, product sku, what came of it.
QUESTIONS = [
    ("zhang.wei@example.cn", "手表固件怎么升级", "HW-WATCH-GT5-46", "resolved"),
    ("emily.carter@example.com", "how do I clean the rice cooker inner pot", "MIDEA-MBFB40", "resolved"),
    ("liu.yang@example.cn", "phone not charging after update", None, "shown"),
]


def seed(ctx) -> None:
    if Article.objects.exists():
        return  # seeded already (seed_demo --force)
    _articles(ctx)
    _releases(ctx)
    _questions(ctx)


def _articles(ctx) -> None:
    products = {p.sku: p for p in Product.objects.all()}
    categories = {c.slug: c for c in Category.objects.all()}
    for slug, title, kind, language, skus, category_slugs, summary, body, video in ARTICLES:
        article = Article.objects.create(
            slug=slug,
            title=title,
            kind=kind,
            language=language,
            summary=summary,
            body=body,
            video_url=video,
            published=True,
        )
        article.products.set(products[sku] for sku in skus if sku in products)
        article.categories.set(categories[c] for c in category_slugs if c in categories)
        missing = [sku for sku in skus if sku not in products] + [c for c in category_slugs if c not in categories]
        if missing:
            ctx.warn(f"seed_demo: knowledge-base article {slug}: no product or category {', '.join(missing)}")


def _releases(ctx) -> None:
    supervisor = ctx.staff.get(roles.SUPERVISOR)
    for sku, version, days_ago, notes, filename, size in RELEASES:
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            ctx.warn(f"seed_demo: no product {sku} for a firmware release")
            continue
        services.add_release(
            product=product,
            version=version,
            notes=notes,
            uploaded_file=ContentFile(ctx.rng.randbytes(size), name=filename),
            released_at=ctx.now - timedelta(days=days_ago),
            actor=supervisor,
        )


def _questions(ctx) -> None:
    me = ctx.staff.get(roles.CUSTOMER)
    ticket = Case.objects.filter(kind=CaseKind.TICKET, customer=me, subject__icontains="Dolby").first()
    asked = [(me, "How do I turn on Dolby Vision?", "SONY-XR65X90L", "ticket")] if me else []
    for email, question, sku, outcome in QUESTIONS:
        customer = User.objects.filter(email__iexact=email).first()
        if customer is None:
            ctx.warn(f"seed_demo: no customer {email} for a knowledge-base question")
            continue
        asked.append((customer, question, sku, outcome))
    for customer, question, sku, outcome in asked:
        product = Product.objects.filter(sku=sku).first() if sku else None
        articles = selectors.suggest(question, product=product)
        deflection = services.suggestions_shown(customer=customer, query=question, articles=articles)
        if outcome == "resolved" and articles:
            services.resolved_without_ticket(deflection=deflection, customer=customer, article=articles[0])
        elif outcome == "ticket" and ticket is not None:
            services.ticket_opened(deflection=deflection, customer=customer, case=ticket)
