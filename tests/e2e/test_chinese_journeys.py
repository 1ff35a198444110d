"""The portal and the dashboard in Simplified Chinese, in a real browser, with no English left on the
customer's pages.

- R-RET-9 (with R-RET-2, R-RET-8, R-RET-15): a customer whose profile says zh-hans applies for a return
  with a photo, an agent approves it in the Chinese dashboard, the customer enters the tracking number.
- R-SUP-1 (with R-SUP-4, R-SUP-5): the customer asks a question, an agent answers it from the Chinese
  ticket desk, the customer reads the answer.
- The portal's other pages (home, my orders, my cases, the label, notifications, the account, the
  warranty claim form (R-WAR-2), price protection (R-PP-1), the help centre and downloads) speak Chinese
  too; money is written "¥1999.00" (R-ORD-4) and dates by numbers, never with English month names.

DOMAIN.md has no rule id for the language itself (the README: "the portal speaks English and Simplified
Chinese"). Each checked page's visible text, its `placeholder`, `title`, `aria-label` and `alt`
attributes and its `<title>` may hold no Latin word (two letters or more) but the test data's own names
(brand, products, SKUs, order and case numbers, the photo's file name, the customer's e-mail, the shop's
name), rule ids and the few tokens in UNAVOIDABLE. The browser's own controls (the file input's button)
are the browser's language, not the page's, and are not checked."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from aftersales.cases.models import Case
from aftersales.orders.models import Category
from returns.models import ReturnRequest
from techsupport.models import Team, Ticket
from tests import factories
from tests.priceprotect.conftest import in_transit_order, price

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ZH = "zh-hans"
# Names that are the same in every language: the language switcher offers "English" in English, and the
# file formats (the photos one may send, the return label to download) and the checksum of a firmware file.
UNAVOIDABLE = ("English", "JPEG", "PNG", "WebP", "PDF", "SHA-256")
# The rule a deadline or a refusal rests on is cited by its id in the rule book (DOMAIN.md), as a clause
# number would be: "R-WAR-2".
RULE_ID = re.compile(r"\bR-[A-Z]+-[0-9]+\b")
WORD = re.compile(r"[A-Za-z]{2,}")

ATTRIBUTES = """() => Array.from(document.querySelectorAll("[placeholder], [title], [aria-label], [alt]"))
    .flatMap(el => ["placeholder", "title", "aria-label", "alt"].map(name => el.getAttribute(name)))
    .filter(value => value)"""


def english_words(page, allowed) -> list[str]:
    """The Latin words on `page` (visible text, the attributes people read or hear, the window's title)
    once the `allowed` names are taken out, each with a little of what surrounds it."""
    texts = [page.title(), page.locator("body").inner_text(), *page.evaluate(ATTRIBUTES)]
    found = []
    for text in texts:
        for name in sorted({*allowed, *UNAVOIDABLE}, key=len, reverse=True):
            text = text.replace(name, " ")
        text = RULE_ID.sub(" ", text)
        found += [f"{m.group()!r} in …{text[max(m.start() - 30, 0) : m.end() + 30]!r}…" for m in WORD.finditer(text)]
    return found


def data_names(customer, *orders) -> list[str]:
    names = [customer.email, settings.SHOP_NAME]
    for order in orders:
        names.append(order.number)
        for line in order.lines.select_related("product__brand"):
            names += [line.product_name, line.product.sku, line.product.brand.name]
    return names


def chinese_customer():
    return factories.CustomerFactory(preferred_language=ZH, full_name="王小明")


def chinese_order(customer, **kwargs):
    order = factories.order_with_lines(customer=customer, **kwargs)
    product = order.lines.get().product
    product.category = Category.objects.get_or_create(slug="phones", defaults={"name": "手机"})[0]
    product.save(update_fields=["category"])
    return order


def test_a_return_in_chinese_from_the_options_to_the_tracking_number(log_in, browser_problems, screenshots, tmp_path):
    shots = screenshots / "zh"
    shots.mkdir(exist_ok=True)
    customer = chinese_customer()
    agent = factories.StaffFactory(role="agent", full_name="周婷")
    # Signed for 2 days ago; 1999.00 is over the auto-approval limit and a quality problem needs a photo
    # (R-RET-8, R-RET-15): an agent decides.
    order = chinese_order(customer, signed_for_at=timezone.now() - timedelta(days=2))
    line = order.lines.get()
    photo = tmp_path / "屏幕闪烁.png"
    Image.new("RGB", (320, 240), (200, 40, 40)).save(photo)
    allowed = [*data_names(customer, order), photo.name]

    shop = log_in(customer, reverse("portal:order-list"), language=ZH)
    expect(shop.get_by_role("row").filter(has_text=order.number)).to_contain_text("¥1999.00")
    assert english_words(shop, allowed) == []
    shop.goto(reverse("portal:home"))
    assert english_words(shop, allowed) == []
    shop.goto(reverse("portal:case-list"))
    assert english_words(shop, allowed) == []

    shop.goto(reverse("returns:order-options", args=[order.number]))
    expect(shop.get_by_role("heading", name="售后选项")).to_be_visible()
    quality_return = shop.get_by_role("row").filter(has_text="退货退款").filter(has_text="质量问题")
    expect(quality_return).to_contain_text("必填")  # photos
    shop.locator("details").evaluate_all("all => all.forEach(details => { details.open = true; })")  # why not
    assert english_words(shop, allowed) == []
    shop.screenshot(path=shots / "return-options.png", full_page=True)
    shop.get_by_role("link", name="申请退换货").click()
    expect(shop).to_have_url(re.compile(re.escape(reverse("returns:apply", args=[order.number])) + "$"))

    # Each option shows the fields it needs (the condition of the goods, the variant to exchange for…).
    for option in shop.get_by_role("radio").all():
        option.check()
        assert english_words(shop, allowed) == [], option.get_attribute("value")
    shop.get_by_label("退货退款 · 质量问题").check()
    shop.get_by_label(f"{line.product_name} 的数量").fill("1")
    shop.get_by_label("问题描述").fill("屏幕闪烁，一分钟后黑屏。")
    shop.get_by_label("照片").set_input_files(photo)
    expect(shop.get_by_role("img", name=photo.name)).to_be_visible()  # the preview
    shop.screenshot(path=shots / "return-apply.png", full_page=True)
    assert english_words(shop, allowed) == []
    shop.get_by_role("button", name="提交申请").click()
    expect(shop).to_have_url(re.compile(r"/cases/RMA-[^/]+/$"))

    case = Case.objects.get(order=order)
    request = ReturnRequest.objects.get(case=case)
    assert (case.kind, case.status, request.reason) == ("return", "submitted", "quality")
    assert request.description == "屏幕闪烁，一分钟后黑屏。"
    assert [(rl.order_line, rl.quantity) for rl in request.lines.all()] == [(line, 1)]
    assert [a.original_name for a in case.attachments.all()] == [photo.name]
    allowed.append(case.number)
    expect(shop.get_by_text(f"您的申请 {case.number} 已提交。")).to_be_visible()
    expect(shop.get_by_role("heading", level=1)).to_have_text(f"{case.number} 已提交")
    expect(shop.get_by_role("img", name=photo.name)).to_be_visible()
    expect(shop.locator(".return-actions")).to_contain_text("¥1999.00")  # the refund estimate
    shop.screenshot(path=shots / "return-submitted.png", full_page=True)
    assert english_words(shop, allowed) == []

    # Agent: the returns queue in Chinese, the request with its photo, approve.
    desk = log_in(agent, reverse("admin:returns_returnrequest_changelist"), language=ZH)
    desk.get_by_role("link", name=case.number).click()
    expect(desk.get_by_role("img", name=photo.name)).to_be_visible()
    expect(desk.get_by_text("屏幕闪烁，一分钟后黑屏。")).to_be_visible()
    desk.get_by_label("给顾客的备注（选填）").fill("请连同充电器一起寄回。")
    desk.get_by_role("button", name="审核通过").click()
    case.refresh_from_db()
    assert case.status == "awaiting_parcel"
    expect(desk.get_by_text(f"售后单 {case.number} 当前状态：审核通过，待您寄回商品。")).to_be_visible()
    expect(desk.get_by_text("提醒顾客寄回包裹")).to_be_visible()  # what the next deadline does, not its code
    desk.screenshot(path=shots / "dashboard-return-approved.png", full_page=True)

    # Customer: approved, with the agent's note; the tracking number.
    shop.reload()
    expect(shop.get_by_role("heading", level=1)).to_have_text(f"{case.number} 审核通过，待您寄回商品")
    expect(shop.get_by_text("请连同充电器一起寄回。")).to_be_visible()
    assert english_words(shop, allowed) == []
    shop.get_by_label("快递公司").fill("顺丰速运")
    shop.get_by_label("快递单号").fill("SF1234567890")
    shop.get_by_role("button", name="我已寄出包裹").click()
    expect(shop.get_by_text("谢谢，快递单号已保存。")).to_be_visible()
    expect(shop.get_by_text("顺丰速运 · SF1234567890")).to_be_visible()
    shop.screenshot(path=shots / "return-tracking.png", full_page=True)
    assert english_words(shop, [*allowed, "SF1234567890"]) == []
    request.refresh_from_db()
    assert (request.carrier, request.tracking_number) == ("顺丰速运", "SF1234567890")
    assert request.shipped_at is not None

    # The printable label, the notifications of each step, the other pages of the portal.
    for url in (
        reverse("portal:order-detail", args=[order.number]),
        reverse("returns:label", args=[case.number]),
        reverse("portal:notification-list"),
        reverse("portal:account"),
        reverse("warranty:products"),
        reverse("priceprotect:list"),
        reverse("support:tickets"),
    ):
        shop.goto(url)
        assert english_words(shop, allowed) == [], url

    # The portal's other forms, in Chinese too: a warranty claim and price protection.
    shop.goto(reverse("warranty:claim", args=[line.pk]))
    assert english_words(shop, allowed) == []
    shop.screenshot(path=shots / "warranty-claim.png", full_page=True)

    pp_order = in_transit_order(customer)
    price(pp_order.lines.get().product, "1899.00")
    shop.goto(reverse("priceprotect:order", args=[pp_order.number]))
    expect(shop.get_by_role("button", name="立即申请 ¥100.00")).to_be_visible()
    assert english_words(shop, [*allowed, *data_names(customer, pp_order)]) == []
    shop.screenshot(path=shots / "price-protection.png", full_page=True)
    assert browser_problems == []


def test_a_support_question_in_chinese_answered_from_the_chinese_ticket_desk(log_in, browser_problems, screenshots):
    shots = screenshots / "zh"
    shots.mkdir(exist_ok=True)
    customer = chinese_customer()
    agent = factories.StaffFactory(role="agent", full_name="周婷")
    Team.objects.create(code="first-line", name="一线客服", tier=1).members.add(agent)
    order = chinese_order(customer)
    product = order.lines.get().product
    article = factories.ArticleFactory(
        title="耳机与手机配对", summary="先重置耳机，再重新配对。", body="按住充电盒按钮 15 秒。", products=[product]
    )
    release = factories.release(product=product, version="2.1.0", notes="修复配对问题。", name="耳机固件.bin")
    allowed = [*data_names(customer, order), release.sha256]

    shop = log_in(customer, reverse("support:new"), language=ZH)
    assert english_words(shop, allowed) == []
    shop.get_by_label("您需要什么帮助？").fill("耳机无法配对")
    shop.get_by_role("button", name="继续").click()
    expect(shop.get_by_role("link", name="耳机与手机配对")).to_be_visible()  # suggested first (R-SUP-5)
    shop.get_by_label("技术故障").check()
    shop.get_by_label("请描述您的问题").fill("已经重置，手机仍然搜不到耳机。")
    shop.get_by_label("订单").select_option(order.number)
    assert english_words(shop, allowed) == []
    shop.screenshot(path=shots / "support-ask.png", full_page=True)
    shop.get_by_role("button", name="发送").click()
    expect(shop).to_have_url(re.compile(r"/cases/TKT-[^/]+/$"))
    case = Case.objects.get(kind="ticket", customer=customer)
    ticket = Ticket.objects.get(pk=case.pk)
    assert (case.order, ticket.category, case.status) == (order, "fault", "new")
    assert ticket.first_responded_at is None
    allowed.append(case.number)
    assert english_words(shop, allowed) == []

    desk = log_in(agent, reverse("admin:techsupport_ticket_changelist"), language=ZH)
    desk.get_by_role("link", name=case.number, exact=True).click()
    desk.locator("#id_reply_body").fill("很抱歉。请问您的手机是什么型号？")
    desk.locator("#ticket-reply").get_by_role("button", name="发送").click()
    expect(desk.get_by_text("请问您的手机是什么型号？").first).to_be_visible()
    desk.screenshot(path=shots / "dashboard-ticket-answered.png", full_page=True)
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None
    assert case.events.filter(public=True, note="很抱歉。请问您的手机是什么型号？", actor=agent).exists()

    shop.reload()
    expect(shop.get_by_text("请问您的手机是什么型号？")).to_be_visible()
    shop.screenshot(path=shots / "support-answered.png", full_page=True)
    assert english_words(shop, allowed) == []
    for url in (
        reverse("support:tickets"),
        reverse("kb:help"),
        reverse("kb:article", args=[article.slug]),
        reverse("kb:downloads"),
        reverse("kb:product-downloads", args=[product.pk]),
    ):
        shop.goto(url)
        assert english_words(shop, allowed) == [], url
    assert browser_problems == []
