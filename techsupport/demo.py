"""The support demo (DOMAIN §5), made through the services: the two teams, SLA policies, canned
replies and macros, and tickets in every state. Some are moved back in time after they are made, so
the desk shows tickets near and past their SLA deadlines; the deadline sweeper fires their alerts on
its first run, as it would have."""

from datetime import timedelta

from django.db.models import F

from aftersales.accounts import roles
from aftersales.accounts.models import User
from aftersales.cases.models import Case, CaseEvent
from aftersales.common.demo import DemoContext

from .models import CannedReply, SlaPolicy, Team, Ticket
from .services import tickets

POLICIES = [
    # name, position, conditions, first response, next response, resolution (business minutes)
    ("VIP 急件 · VIP urgent", 10, {"priorities": ["urgent", "high"], "customer_tiers": ["vip"]}, 30, 60, 480),
    ("紧急 · Urgent", 20, {"priorities": ["urgent"]}, 30, 120, 960),
    ("投诉 · Complaints", 30, {"categories": ["complaint"]}, 60, 240, 1440),
    ("标准 · Standard", 100, {}, 60, 240, 2400),
]
CANNED = [
    (
        "问候 · Greeting",
        "",
        "",
        "您好 {customer}，感谢您联系我们。关于 {number}：\n\n"
        "Hello {customer}, thank you for contacting us about {number}.",
    ),
    (
        "请提供型号与照片 · Ask for model and photo",
        "fault",
        CannedReply.Then.ASK_CUSTOMER,
        "为了尽快帮您处理，请回复产品型号和铭牌照片。\n\nTo help you quickly, please reply with the model and a photo "
        "of the label on {product}.",
    ),
    (
        "固件升级指引 · Firmware update guide",
        "firmware",
        CannedReply.Then.RESOLVE,
        "请在帮助中心“下载”页面获取最新固件，并按说明升级。如仍有问题，直接回复即可重新打开。\n\nPlease download the "
        "latest firmware from the Downloads page of our help centre and follow the notes. Reply to reopen if it "
        "does not help. — {agent}",
    ),
]


def seed(ctx: DemoContext) -> None:
    if Team.objects.exists():
        return  # seeded already (seed_demo --force)
    agent, technician = ctx.staff[roles.AGENT], ctx.staff[roles.TECHNICIAN]
    supervisor, me = ctx.staff[roles.SUPERVISOR], ctx.staff[roles.CUSTOMER]
    first = Team.objects.create(code="first-line", name="一线客服 · First line", tier=1, lead=supervisor)
    first.members.add(agent, supervisor)
    technical = Team.objects.create(code="technical", name="技术支持 · Technical support", tier=2, lead=supervisor)
    technical.members.add(technician)
    for name, position, conditions, first_response, next_response, resolution in POLICIES:
        SlaPolicy.objects.create(
            name=name,
            position=position,
            first_response_minutes=first_response,
            next_response_minutes=next_response,
            resolution_minutes=resolution,
            **conditions,
        )
    for title, category, then, body in CANNED:
        CannedReply.objects.create(title=title, category=category, then=then, body=body)

    phone = ctx.demo_orders["phone"]
    airpods = phone.lines.get(product__sku="APL-AIRPODSPRO2").product
    # The demo customer: a question we answered and wait on them for; a closed one to rate.
    waiting = tickets.open_ticket(
        customer=me,
        actor=me,
        subject="AirPods Pro 经常断连 · AirPods Pro keep disconnecting",
        body="连接 iPhone 后每隔几分钟断开一次。\nThey drop the connection every few minutes.",
        category="usage",
        order=phone,
        product=airpods,
    )
    tickets.reply(
        case=waiting,
        actor=agent,
        body="请在设置中忘记设备后重新配对，并告诉我们固件版本。\nPlease forget the device in Settings, pair it "
        "again, and tell us the firmware version.",
        then="ask_customer",
    )
    done = tickets.open_ticket(
        customer=me,
        actor=me,
        subject="电视怎么开启杜比视界？ · How do I turn on Dolby Vision on the TV?",
        body="找不到设置。\nI cannot find the setting.",
        category="usage",
        order=ctx.demo_orders["tv"],
    )
    tickets.resolve(
        case=done,
        actor=agent,
        note="设置 → 画面 → 画面模式 → 杜比视界。\nSettings → Picture → Picture mode → Dolby Vision.",
    )
    tickets.close(case=done, actor=agent)
    _shift(done, timedelta(days=2))

    # Other customers: the desk's queue.
    others = list(User.objects.filter(groups__name=roles.CUSTOMER).exclude(pk=me.pk).order_by("pk")[:6])
    if len(others) < 4:
        ctx.warn("support demo: fewer than 4 other customers; the ticket queue is short")
        return
    overdue = tickets.open_ticket(
        customer=others[0],
        actor=others[0],
        subject="洗碗机显示 E4 · Dishwasher shows E4",
        body="洗到一半停机，显示 E4。\nIt stops mid-cycle showing E4.",
        category="fault",
    )
    _shift(overdue, timedelta(hours=26))  # past its first response: the sweeper warns, then escalates
    others[1].tier = "vip"
    others[1].save(update_fields=["tier"])
    vip = tickets.open_ticket(
        customer=others[1],
        actor=others[1],
        subject="投诉：维修拖延 · Complaint: repair is taking too long",
        body="已经两周了。\nIt has been two weeks.",
        category="complaint",
        priority="high",
    )
    tickets.assign(case=vip, actor=supervisor, assignee=agent)
    escalated = tickets.open_ticket(
        customer=others[2],
        actor=others[2],
        subject="手表升级固件后无法开机 · Watch will not boot after a firmware update",
        body="升级到 5.1 后一直重启。\nIt keeps rebooting since 5.1.",
        category="firmware",
    )
    tickets.reply(case=escalated, actor=agent, body="我们已转交技术支持。\nWe passed this to technical support.")
    tickets.escalate(case=escalated, actor=agent, reason="Boot loop after 5.1; needs a recovery image.")
    tickets.assign(case=escalated, actor=technician, assignee=technician)
    tickets.open_ticket(
        customer=others[3],
        actor=agent,
        channel="phone",
        subject="电话：发票抬头修改 · Phone: change the invoice title",
        body="客户来电要求修改发票抬头。\nThe customer called to change the invoice title.",
        category="other",
    )


def _shift(case: Case, delta: timedelta) -> None:
    """Move a demo ticket's whole history `delta` into the past (opening, events, clock and due
    moments), then let the clock schedule its next alert from there."""
    Case.objects.filter(pk=case.pk).update(
        opened_at=F("opened_at") - delta,
        closed_at=F("closed_at") - delta,
        deadline_at=F("deadline_at") - delta,
    )
    CaseEvent.objects.filter(case=case).update(at=F("at") - delta)
    moments = [
        "first_response_due_at",
        "first_responded_at",
        "next_response_due_at",
        "awaiting_reply_since",
        "resolution_due_at",
        "clock_started_at",
        "resolved_at",
        "sla_due_at",
        "waiting_since",
    ]
    Ticket.objects.filter(pk=case.pk).update(**{m: F(m) - delta for m in moments})
