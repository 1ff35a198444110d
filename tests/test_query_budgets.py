"""Query budgets: every list page of the portal, every list endpoint of the API and every list page of the
staff dashboard (changelists, the queues, ticket statistics, reconciliation, bank transfers, insight) runs
the same number of queries whatever the number of rows it shows; so do the pages about one order, case or
ticket, whose rows are its lines, timeline or messages.

Each group builds a few rows of what its pages list (with what hangs off them: lines, gifts, parcels,
photos, timeline events, notifications, approvals …) through the services, as the shop would, asks each
page once, builds many more rows and asks again: the count must not move, and must stay within the page's
budget below, so an N+1 query fails here. Each page must also show the rows (an empty page passes any
budget). Every page is asked once before it is counted, so what a first visit creates (a settings row) is
left out; logging in is not counted either. A list paginated by aftersales.common.pagination counts its
rows only once they fill more than its first page: with more rows than that, it runs one COUNT more."""

import io
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group as AuthGroup
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from rest_framework.authtoken.models import Token

from aftersales.cases import followups
from aftersales.cases import services as case_services
from aftersales.cases.attachments import add_attachment
from aftersales.cases.models import BusinessDay
from aftersales.common.admin_site import QueueMixin
from aftersales.finance import services as finance
from aftersales.finance.models import Coupon, Refund
from aftersales.orders import services as order_services
from aftersales.orders.models import Order, OrderLine, Parcel, PriceChange, Storefront
from aftersales.orders.services import set_milestones
from aftersales.orders.views import ORDERS_PER_PAGE
from aftersales.orders.webhooks import queue_webhook
from priceprotect import services as price_protection
from priceprotect.models import PriceDropOffer
from returns import services as returns
from techsupport.kb import services as kb
from techsupport.kb.selectors import deflections_of
from techsupport.models import CannedReply, MailMessage, SlaAlert, SlaPolicy, Team, Ticket
from techsupport.services import tickets
from tests import factories
from tests.priceprotect.conftest import in_transit_order, price
from tests.warranty.conftest import ALL_DOCUMENTS, tv_order_for
from warranty import services as warranty
from warranty.models import Accessory, ServiceCentre
from warranty.models import Claim as WarrantyClaim

pytestmark = pytest.mark.django_db

FEW, MORE = 2, 20
QUEUE_PAGE = QueueMixin.list_per_page  # the rows a queue of the dashboard shows

# The most queries each page may run: the count measured with FEW + MORE rows (the same on SQLite and
# PostgreSQL). Lower one when a page gets cheaper; raise one only with the reason, never for a count that grows.
BUDGETS: dict[str, int] = {
    # orders
    "portal my orders": 5,
    "api orders (customer)": 3,
    "api orders (staff)": 5,
    "admin orders": 16,
    "admin order lines": 13,
    "admin parcels": 16,
    # returns
    "portal my cases": 5,
    "portal timeline": 5,
    "portal notifications": 5,
    "api cases (customer)": 3,
    "api cases (staff)": 5,
    "api notifications": 3,
    "admin cases": 14,
    "admin case events": 14,
    "admin attachments": 15,
    "admin notifications": 14,
    "admin return requests": 12,
    "admin insight": 27,  # with the daily-sales roll-up: its changed days are read too
    # feedback
    "admin feedback": 15,
    "admin follow-ups": 13,
    # warranty
    "portal warranty products": 8,
    "admin repair board": 14,
    # price protection
    "portal my price protection": 5,
    "api price-protection claims (customer)": 10,
    "api price-protection claims (staff)": 10,
    "admin price-protection claims": 15,
    "admin revocations": 14,
    "admin price-drop offers": 15,
    "admin price-cut exposure": 13,
    "api price-cut exposure": 6,
    # tickets
    "portal my questions": 5,
    "api tickets (customer)": 3,
    "api tickets (staff)": 5,
    "admin ticket queue": 13,
    "admin ticket statistics": 21,
    "admin SLA alerts": 14,
    "admin e-mail messages": 14,
    # finance
    "portal my account": 13,
    "admin refund queue": 13,
    "admin refund queue CSV": 7,
    "admin reconciliation": 8,
    "admin bank transfers": 8,
    "admin balance entries": 11,
    "admin points entries": 11,
    "admin coupons": 11,
    # knowledge base
    "portal help centre": 7,
    "portal help centre search": 7,
    "portal downloads": 5,
    "portal product downloads": 7,
    "api articles": 1,
    "api articles search": 1,
    "api article suggestions": 9,
    "api releases": 1,
    "admin articles": 13,
    "admin releases": 15,
    "admin article suggestions": 16,
    # catalog and configuration
    "api storefront price history": 3,
    "admin categories": 14,
    "admin brands": 13,
    "admin products": 15,
    "admin price changes": 15,
    "admin storefronts": 13,
    "admin webhook deliveries": 17,
    "admin users": 17,
    "admin groups": 11,
    "admin API tokens": 11,
    "admin service centres": 14,
    "admin accessories": 14,
    "admin support teams": 14,
    "admin SLA policies": 13,
    "admin canned replies": 13,
    "admin business calendar": 18,
    # one order's lines
    "portal order page": 14,
    "portal after-sales options": 8,
    "portal price protection of an order": 11,
    "api order": 6,
    "api after-sales options": 7,
    "api warranty coverage": 8,
    "api price protection of an order": 10,
    "admin order page": 14,
    # one case's timeline
    "portal case page": 10,
    "api case (customer)": 5,
    "api case (staff)": 7,
    "admin case page": 17,
    # one ticket's messages
    "portal ticket page": 12,
    "api ticket (customer)": 5,
    "api ticket (staff)": 7,
    "admin ticket page": 20,
}


@pytest.fixture(autouse=True)
def _no_gateway(settings):
    """The reconciliation page also asks the payment gateway for its list: here nothing listens (the
    connection is refused at once), so the page says the gateway did not answer and only our side counts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.PAYMENT_GATEWAY_URL = f"http://127.0.0.1:{port}"


def photo(name="photo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (20, 120, 200)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


# --- The world the groups add rows to ------------------------------------------------------------------


class World:
    """The people who ask, created on first use (no password: they are logged in directly, so no slow
    password hashing), and what the groups share (a storefront, a service centre, teams)."""

    ROLES = {"agent": "agent", "supervisor": "supervisor", "finance": "finance", "technician": "technician"}

    def __init__(self):
        self.users: dict[str, object] = {}
        self.extra: dict[str, object] = {}
        self.serial = 0

    def user(self, who: str):
        if who not in self.users:
            if who == "customer":
                self.users[who] = factories.CustomerFactory(password=None)
            elif who == "superuser":
                self.users[who] = factories.StaffFactory(role="supervisor", is_superuser=True, password=None)
            else:
                self.users[who] = factories.StaffFactory(role=self.ROLES[who], password=None)
        return self.users[who]

    customer = property(lambda self: self.user("customer"))
    agent = property(lambda self: self.user("agent"))
    supervisor = property(lambda self: self.user("supervisor"))
    finance = property(lambda self: self.user("finance"))
    technician = property(lambda self: self.user("technician"))

    def next(self) -> int:
        self.serial += 1
        return self.serial


@pytest.fixture
def world(db) -> World:
    return World()


@dataclass(frozen=True)
class Page:
    name: str  # the budget's key and the failure's label
    user: str  # who asks (World.user), "storefront" with the storefront's token, or "" for a visitor
    url: Callable[[World], str]
    marker: str = ""  # which of the group's markers the page lists …
    shows: int = 0  # … and how many of them one page shows at most
    expect: Callable[[World], list[str]] | None = None  # or: what a page of figures must show now
    before: Callable[[World], None] | None = None  # puts the world back where each request finds it
    page_size: int = 0  # a list paginated by aftersales.common.pagination: its page's length


API_PAGE = django_settings.REST_FRAMEWORK["PAGE_SIZE"]  # every list endpoint's pagination


@dataclass(frozen=True)
class Group:
    name: str
    build: Callable[[World, int], dict[str, list[str]]]  # adds rows, returns their markers by kind
    pages: tuple[Page, ...]


def url(name, *args, query="") -> Callable[[World], str]:
    return lambda _world: reverse(name, args=args) + (f"?{query}" if query else "")


# --- Orders ---------------------------------------------------------------------------------------------


def shop_order(world: World, **kwargs):
    """An order of the world's customer: a phone with a gift, a case, and a parcel."""

    order = factories.order_with_lines(
        customer=kwargs.pop("customer", world.customer),
        lines=kwargs.pop("lines", ((Decimal("1999.00"), 1), (Decimal("99.00"), 2))),
        **kwargs,
    )
    factories.add_gift(order, main=order.lines.get(line_no=1), line_no=3)
    Parcel.objects.create(
        order=order,
        carrier="SF Express",
        tracking_number=f"SF{order.number}",
        shipped_at=order.left_warehouse_at,
        signed_for_at=order.signed_for_at,
    )
    return order


def build_orders(world: World, n: int) -> dict[str, list[str]]:
    storefront = world.extra.get("storefront")
    if storefront is None:
        storefront, _token = order_services.create_storefront(name="Main shop", token="budget-token-0123456789abcdef")
        world.extra["storefront"] = storefront
    orders = [shop_order(world, storefront=storefront) for _ in range(n)]
    return {"order": [o.number for o in orders], "parcel": [f"SF{o.number}" for o in orders]}


ORDERS = Group(
    "orders",
    build_orders,
    (
        Page("portal my orders", "customer", url("portal:order-list"), "order", 20, page_size=ORDERS_PER_PAGE),
        Page("api orders (customer)", "customer", url("api-order-list"), "order", 50, page_size=API_PAGE),
        Page("api orders (staff)", "agent", url("api-order-list"), "order", 50, page_size=API_PAGE),
        Page("admin orders", "supervisor", url("admin:orders_order_changelist"), "order", 100),
        Page("admin order lines", "supervisor", url("admin:orders_orderline_changelist"), "order", 33),
        Page("admin parcels", "supervisor", url("admin:orders_parcel_changelist"), "parcel", 100),
    ),
)


# --- Returns: cases, their timeline, photos and notifications ----------------------------------------

RESALEABLE = {"accessories_complete": True, "water_exposure": False}


def build_returns(world: World, n: int) -> dict[str, list[str]]:

    numbers, notified, returned = [], [], []
    for i in range(n):
        order = shop_order(world)
        returned.append(f"({order.lines.get(line_no=1).product.sku})")  # all its units come back
        case = returns.submit_request(
            customer=world.customer,
            order=order,
            kind="return",
            reason="no_reason",
            lines=[
                {"line": order.lines.get(line_no=1), "quantity": 1},
                {"line": order.lines.get(line_no=2), "quantity": 1},
            ],
            condition=RESALEABLE,
            description="Changed my mind",
            photos=[photo()],
        )
        case_services.add_note(case=case, actor=world.agent, note="Checked the order", public=False)
        if i % 2:
            case = returns.approve(case=case, actor=world.agent)  # the customer is told
            notified.append(case.number)
        numbers.append(case.number)
    return {"case": numbers, "notified": notified, "returned": returned}


RETURNS = Group(
    "returns",
    build_returns,
    (
        Page("portal my cases", "customer", url("portal:case-list"), "case", 20),
        Page("portal timeline", "customer", url("portal:timeline"), "case", 10),
        Page("portal notifications", "customer", url("portal:notification-list"), "notified", 30),
        Page("api cases (customer)", "customer", url("api-case-list"), "case", 50, page_size=API_PAGE),
        Page("api cases (staff)", "agent", url("api-case-list"), "case", 50, page_size=API_PAGE),
        Page("api notifications", "customer", url("api-notification-list"), "notified", 50, page_size=API_PAGE),
        Page("admin cases", "agent", url("admin:cases_case_changelist"), "case", QUEUE_PAGE),
        Page("admin case events", "agent", url("admin:cases_caseevent_changelist"), "case", 25),
        Page("admin attachments", "agent", url("admin:cases_attachment_changelist"), "case", 100),
        Page("admin notifications", "agent", url("admin:cases_notification_changelist"), "notified", 100),
        Page("admin return requests", "agent", url("admin:returns_returnrequest_changelist"), "case", QUEUE_PAGE),
        # The return-rate chart names its top 15 products: those whose every unit came back.
        Page("admin insight", "supervisor", url("admin:insight"), "returned", 15),
    ),
)


# --- Ratings and follow-ups (R-FB-1) ----------------------------------------------------------------------


def build_feedback(world: World, n: int) -> dict[str, list[str]]:

    numbers = []
    for _ in range(n):
        order = shop_order(world)
        closed = factories.open_case(customer=world.customer, order=order)
        for step in ("approve", "receive", "pass_inspection", "complete"):
            closed = case_services.transition(case=closed, name=step)
        case_services.leave_feedback(case=closed, customer=world.customer, rating=5, comment="Quick")
        followups.log_follow_up_call(case=closed, actor=world.agent, outcome="Happy", rating_confirmed=True)
        low = factories.open_case(customer=world.customer, order=order)
        low = case_services.transition(case=low, name="cancel", actor=world.customer)
        case_services.leave_feedback(case=low, customer=world.customer, rating=1, reason="policy", comment="Why?")
        numbers += [closed.number, low.number]
    return {"case": numbers}


FEEDBACK = Group(
    "feedback",
    build_feedback,
    (
        Page("admin feedback", "agent", url("admin:cases_feedback_changelist"), "case", 100),
        Page("admin follow-ups", "supervisor", url("admin:cases_followup_changelist"), "case", 100),
    ),
)


# --- Warranty: the repair board and my products ----------------------------------------------------------


def build_warranty(world: World, n: int) -> dict[str, list[str]]:

    centre = world.extra.get("centre")
    if centre is None:
        centre = ServiceCentre.objects.create(
            name="Xuhui service centre", regions=["上海"], address="上海市徐汇区 1 号"
        )
        world.extra["centre"] = centre
    numbers, orders = [], []
    for i in range(n):
        order = tv_order_for(world.customer, days_ago=20)
        line = order.lines.get()
        unit = warranty.register_unit(line=line, serial_number=f"SN{world.next():06d}", source="customer")
        case = warranty.file_claim(
            customer=world.customer,
            line=line,
            fault="display",
            description="Black screen",
            documents=ALL_DOCUMENTS,
            unit=unit,
            photos=[photo()],
        )
        case = warranty.receive(case=case, actor=world.technician, now=timezone.now() - timedelta(days=3))
        if i % 2:
            WarrantyClaim.objects.filter(pk=case.pk).update(centre=centre)
            case = warranty.start_diagnosis(case=case, actor=world.technician)
        numbers.append(case.number)
        orders.append(order.number)
    return {"case": numbers, "order": orders}


WARRANTY = Group(
    "warranty",
    build_warranty,
    (
        Page("portal warranty products", "customer", url("warranty:products"), "order", 20),
        Page("admin repair board", "technician", url("admin:warranty_claim_changelist"), "case", QUEUE_PAGE),
    ),
)


# --- Price protection ----------------------------------------------------------------------------------


def build_price_protection(world: World, n: int) -> dict[str, list[str]]:

    def claim(order, new_price):
        entry = price(order.lines.get().product, new_price)
        return price_protection.file_claim(order=order, actor=world.customer), entry

    shared = world.extra.get("pp_product")
    if shared is None:
        shared = world.extra["pp_product"] = factories.ProductFactory(name="Planned cut", price=Decimal("1999.00"))
    markers = {"case": [], "revoked": [], "offer": [], "exposed": []}
    for _ in range(n):
        paid = in_transit_order(world.customer)
        compensated, entry = claim(paid, "1899.00")  # approved at once: a coupon
        PriceDropOffer.objects.create(order=paid, price_change=entry, amount=Decimal("100.00"))
        waiting, _entry = claim(in_transit_order(world.customer, unit_price=Decimal("299.00")), "139.00")  # R-PP-7
        refused = in_transit_order(world.customer, payment_mode="cod")
        revoked, _entry = claim(refused, "1799.00")
        set_milestones(order=refused, cancelled_at=timezone.now())  # R-PP-6: taken back
        exposed = in_transit_order(world.customer)  # what cutting the shared product's price would cost
        OrderLine.objects.filter(order=exposed).update(product=shared)
        markers["case"] += [compensated.number, waiting.number, revoked.number]
        markers["revoked"].append(revoked.number)
        markers["offer"].append(paid.number)
        markers["exposed"].append(exposed.number)
    return markers


def exposure_api_url(world: World) -> str:
    return reverse("api-priceprotect-exposure") + f"?sku={world.extra['pp_product'].sku}&price=999.00"


def exposed_orders(world: World) -> list[str]:

    return [f'"orders":{Order.objects.filter(lines__product=world.extra["pp_product"]).count()},']


def exposure_url(world: World) -> str:
    return reverse("admin:priceprotect_claim_exposure", args=[world.extra["pp_product"].pk]) + "?price=999.00"


PRICE_PROTECTION = Group(
    "price protection",
    build_price_protection,
    (
        Page("portal my price protection", "customer", url("priceprotect:list"), "case", 20),
        Page(
            "api price-protection claims (customer)",
            "customer",
            url("api-priceprotect-claims"),
            "case",
            50,
            page_size=API_PAGE,
        ),
        Page(
            "api price-protection claims (staff)",
            "agent",
            url("api-priceprotect-claims"),
            "case",
            50,
            page_size=API_PAGE,
        ),
        Page("admin price-protection claims", "agent", url("admin:priceprotect_claim_changelist"), "case", QUEUE_PAGE),
        Page("admin revocations", "agent", url("admin:priceprotect_revocation_changelist"), "revoked", 100),
        Page(
            "admin price-drop offers", "supervisor", url("admin:priceprotect_pricedropoffer_changelist"), "offer", 100
        ),
        Page("admin price-cut exposure", "agent", exposure_url, "exposed", 20),
        Page("api price-cut exposure", "agent", exposure_api_url, expect=exposed_orders),
    ),
)


# --- Technical support: tickets, SLA alerts, e-mail threads -------------------------------------------------


def teams(world: World):

    if "teams" not in world.extra:
        first = Team.objects.create(code="first-line", name="First line", tier=1, lead=world.supervisor)
        first.members.add(world.agent)
        technical = Team.objects.create(code="technical", name="Technical support", tier=2, lead=world.supervisor)
        technical.members.add(world.technician)
        world.extra["teams"] = (first, technical)
    return world.extra["teams"]


def build_tickets(world: World, n: int) -> dict[str, list[str]]:

    _first, technical = teams(world)
    numbers = []
    for i in range(n):
        order = shop_order(world)
        case = tickets.open_ticket(
            customer=world.customer,
            actor=world.customer,
            subject=f"App will not pair ({world.next()})",
            body="It fails.",
            category="usage",
            order=order,
            product=order.lines.get(line_no=1).product,
        )
        if i % 2:
            tickets.assign(case=case, actor=world.agent, assignee=world.technician, team=technical)
        else:
            tickets.assign(case=case, actor=world.agent, assignee=world.agent)
        answer = tickets.reply(case=case, actor=world.user("agent"), body="Please restart it.")
        tickets.customer_reply(case=case, customer=world.customer, body="Still fails.")
        # As the SLA sweeper and the mail intake record them.
        SlaAlert.objects.create(ticket_id=case.pk, target="first_response", level=1, at=timezone.now())
        MailMessage.objects.create(
            message_id=f"<{case.number}@support.example.com>", case=case, direction="out", event=answer, at=answer.at
        )
        numbers.append(case.number)
    return {"case": numbers}


def opened_tickets(world: World) -> list[str]:

    return [f"<td>All tickets</td><td>{Ticket.objects.count()}</td>"]


TICKETS = Group(
    "tickets",
    build_tickets,
    (
        Page("portal my questions", "customer", url("support:tickets"), "case", 20),
        Page("api tickets (customer)", "customer", url("api-tickets"), "case", 50, page_size=API_PAGE),
        Page("api tickets (staff)", "agent", url("api-tickets"), "case", 50, page_size=API_PAGE),
        Page("admin ticket queue", "agent", url("admin:techsupport_ticket_changelist"), "case", QUEUE_PAGE),
        Page("admin ticket statistics", "agent", url("admin:techsupport_ticket_stats"), expect=opened_tickets),
        Page("admin SLA alerts", "agent", url("admin:techsupport_slaalert_changelist"), "case", 100),
        Page("admin e-mail messages", "agent", url("admin:techsupport_mailmessage_changelist"), "case", 100),
    ),
)


# --- Finance: refunds, their approvals and events, balance, points, coupons --------------------------------


def build_finance(world: World, n: int) -> dict[str, list[str]]:

    def refund(order, destination, amount, **kwargs):
        return finance.request_refund(
            order=order,
            source=Refund.Source.GOODWILL,
            amount=Decimal(amount),
            idempotency_key=f"budget-{order.number}-{destination}",
            destination=destination,
            **kwargs,
        )

    Destination = Refund.Destination
    markers = {"order": [], "case": [], "coupon": []}
    for _ in range(n):
        order = shop_order(world)
        case = factories.open_case(customer=world.customer, order=order)
        # Internal destinations are paid at once (R-FIN-2): a balance entry, points, a coupon.
        refund(order, Destination.BALANCE, "10.00", case=case)
        refund(order, Destination.POINTS, "10.00")
        coupon = refund(order, Destination.COUPON, "10.00")
        # To the original payment: approved by finance, waiting for the gateway.
        finance.approve_refund(refund=refund(order, Destination.ORIGINAL_PAYMENT, "150.00"), actor=world.finance)
        # A COD refund to a bank account: approved, waiting for the day's batch.
        bank = refund(
            order,
            Destination.BANK_TRANSFER,
            "20.00",
            bank_account_name="王芳",
            bank_account_number="6222020202020202",
            requested_by=world.agent,
        )
        finance.approve_refund(refund=bank, actor=world.finance)
        markers["order"].append(order.number)
        markers["case"].append(case.number)
        markers["coupon"].append(Coupon.objects.get(refund=coupon).code)
    return markers


def reconciliation_url(_world: World) -> str:
    return reverse("admin:finance_refund_reconciliation") + f"?day={timezone.localdate():%Y-%m-%d}"


def waiting_transfers(_world: World) -> list[str]:

    waiting = Refund.objects.filter(destination="bank_transfer", state="approved").count()
    return [f"{waiting} refunds, "]


FINANCE = Group(
    "finance",
    build_finance,
    (
        Page("portal my account", "customer", url("portal:account"), "coupon", 20),
        # Five refunds an order: the first page's rows show at least a fifth as many orders.
        Page("admin refund queue", "finance", url("admin:finance_refund_changelist"), "order", QUEUE_PAGE // 5),
        Page("admin refund queue CSV", "finance", url("admin:finance_refund_export"), "order", 10**6),
        Page("admin reconciliation", "finance", reconciliation_url, "order", 10**6),
        Page("admin bank transfers", "finance", url("admin:finance_refund_transfers"), expect=waiting_transfers),
        Page("admin balance entries", "finance", url("admin:finance_balanceentry_changelist"), "case", 100),
        Page("admin points entries", "finance", url("admin:finance_pointsentry_changelist"), "order", 100),
        Page("admin coupons", "finance", url("admin:finance_coupon_changelist"), "coupon", 100),
    ),
)


# --- Knowledge base and downloads ----------------------------------------------------------------------------


def build_knowledge_base(world: World, n: int) -> dict[str, list[str]]:

    shared = world.extra.get("kb_product")
    if shared is None:
        shared = world.extra["kb_product"] = factories.ProductFactory(name="Mesh router")
    markers = {"article": [], "product": [], "release": [], "question": []}
    for i in range(n):
        k = world.next()
        product = factories.ProductFactory(name=f"Router {k:04d}")
        if i % 2:  # one the customer bought: listed first
            order = factories.OrderFactory(customer=world.customer)
            OrderLine.objects.create(
                order=order,
                line_no=1,
                product=product,
                product_name=product.name,
                quantity=1,
                unit_price=product.price,
                paid_amount=product.price,
            )
        article = factories.ArticleFactory(
            title=f"Pairing guide {k:04d}",
            summary="How to pair the router",
            body="Hold the button to pair.",
            products=[product],
            categories=[product.category],
        )
        kb.vote(article=article, voter_key=f"u:{world.customer.pk}", helpful=True)
        factories.release(product=product, version="1.0.0")
        factories.release(product=shared, version=f"2.{k}.0")
        shown = kb.suggestions_shown(customer=world.customer, query=f"pair question {k:04d}", articles=[article])
        kb.resolved_without_ticket(deflection=shown, customer=world.customer, article=article)
        markers["article"].append(article.title)
        markers["product"].append(product.name)
        markers["release"].append(f"2.{k}.0")
        markers["question"].append(f"pair question {k:04d}")
    return markers


def question_answered(world: World) -> None:
    """The customer's last question was answered: the next one is a new suggestion record (a question
    still being refined updates its record instead, which is fewer writes)."""

    for shown in deflections_of(world.customer).filter(outcome="shown"):
        kb.resolved_without_ticket(deflection=shown, customer=world.customer)


def product_downloads_url(world: World) -> str:
    return reverse("kb:product-downloads", args=[world.extra["kb_product"].pk])


KNOWLEDGE_BASE = Group(
    "knowledge base",
    build_knowledge_base,
    (
        Page("portal help centre", "customer", url("kb:help"), "article", 10),
        Page("portal help centre search", "customer", url("kb:help", query="q=pair"), "article", 20),
        Page("portal downloads", "customer", url("kb:downloads"), "product", 10**6),
        Page("portal product downloads", "customer", product_downloads_url, "release", 10**6),
        Page("api articles", "", url("api-kb-articles"), "article", 50, page_size=API_PAGE),
        Page("api articles search", "", url("api-kb-articles", query="q=pair"), "article", 20, page_size=API_PAGE),
        Page(
            "api article suggestions",
            "customer",
            url("api-kb-suggest", query="q=pair"),
            "article",
            5,
            before=question_answered,
        ),
        Page("api releases", "", url("api-kb-releases"), "release", 50, page_size=API_PAGE),
        Page("admin articles", "supervisor", url("admin:techsupport_article_changelist"), "article", 100),
        Page("admin releases", "supervisor", url("admin:techsupport_release_changelist"), "release", 100),
        Page(
            "admin article suggestions", "supervisor", url("admin:techsupport_deflection_changelist"), "question", 100
        ),
    ),
)


# --- The catalogue and the dashboard's configuration lists ------------------------------------------------------


def build_catalog(world: World, n: int) -> dict[str, list[str]]:

    markers: dict[str, list[str]] = {key: [] for key in ("name", "email", "token", "delivery", "day", "group", "price")}
    root = factories.CategoryFactory(name="Electronics")
    if "priced" not in world.extra:  # a product with a long price history, read by its storefront
        world.extra["priced"] = factories.ProductFactory(name="Often repriced")
        world.extra["storefront_token"] = order_services.create_storefront(name="Ingest")[1]
    for _ in range(n):
        k = world.next()
        name = f"Item {k:04d}"
        category = factories.CategoryFactory(name=f"Kind {k:04d}", parent=root)
        brand = factories.BrandFactory(name=f"Brand {k:04d}")
        product = factories.ProductFactory(name=name, brand=brand, category=category)
        PriceChange.objects.create(product=product, price=Decimal("1799.00"), effective_at=timezone.now())
        PriceChange.objects.create(
            product=world.extra["priced"],
            price=Decimal(f"{1000 + k}.00"),
            kind="flash_sale",
            effective_at=timezone.now() - timedelta(minutes=k),
        )
        storefront, _token = order_services.create_storefront(name=f"Shop {k:04d}")
        Storefront.objects.filter(pk=storefront.pk).update(webhook_url="https://shop.example.com/hooks")
        storefront.refresh_from_db()
        delivery = queue_webhook(storefront=storefront, event="order.repriced", payload={"n": k}, key=f"hook-{k:04d}")
        user = factories.CustomerFactory(password=None, email=f"buyer{k:04d}@example.com")
        token = Token.objects.create(user=user)
        centre = ServiceCentre.objects.create(name=f"Centre {k:04d}", address="上海市", on_site=bool(k % 2))
        centre.brands.add(brand)
        Accessory.objects.create(category=category, name=f"Charger {k:04d}", price=Decimal("99.00"))
        team = Team.objects.create(code=f"team-{k}", name=f"Team {k:04d}", tier=1 + k % 2, lead=world.supervisor)
        team.members.add(world.agent, user)
        SlaPolicy.objects.create(name=f"Policy {k:04d}", categories=["fault"], priorities=["high"])
        CannedReply.objects.create(title=f"Reply {k:04d}", body="Hello {customer}", category="usage")
        day = timezone.localdate() + timedelta(days=400 + k)
        BusinessDay.objects.create(date=day, is_working=False, name=f"Holiday {k:04d}")
        AuthGroup.objects.create(name=f"Group {k:04d}")
        markers["name"].append(f"{k:04d}")
        markers["email"].append(user.email)
        markers["token"].append(token.key)
        markers["delivery"].append(delivery.key)
        markers["day"].append(f"Holiday {k:04d}")
        markers["group"].append(f"Group {k:04d}")
        markers["price"].append(f'"{1000 + k}.00"')
    return markers


def price_history_url(world: World) -> str:
    return reverse("api-storefront-price-changes", args=[world.extra["priced"].sku])


def changelist(name: str, model: str, user="supervisor", marker="name", shows=100) -> Page:
    return Page(name, user, url(f"admin:{model}_changelist"), marker, shows)


CATALOG = Group(
    "catalog and configuration",
    build_catalog,
    (
        Page("api storefront price history", "storefront", price_history_url, "price", 10**6),
        changelist("admin categories", "orders_category"),
        changelist("admin brands", "orders_brand"),
        changelist("admin products", "orders_product"),
        changelist("admin price changes", "orders_pricechange"),
        changelist("admin storefronts", "orders_storefront"),
        changelist("admin webhook deliveries", "orders_webhookdelivery", marker="delivery"),
        changelist("admin users", "accounts_user", marker="email"),
        changelist("admin groups", "auth_group", user="superuser", marker="group"),
        changelist("admin API tokens", "authtoken_tokenproxy", user="superuser", marker="token"),
        changelist("admin service centres", "warranty_servicecentre"),
        changelist("admin accessories", "warranty_accessory"),
        changelist("admin support teams", "techsupport_team"),
        changelist("admin SLA policies", "techsupport_slapolicy"),
        changelist("admin canned replies", "techsupport_cannedreply"),
        # The calendar holds the seeded years already: the days added here are found by their name.
        Page(
            "admin business calendar",
            "supervisor",
            url("admin:cases_businessday_changelist", query="q=Holiday"),
            "day",
            62,
        ),
    ),
)


# --- One order's lines, one case's timeline, one ticket's messages -------------------------------------------
# Pages about one thing that list what it holds: the lines are the rows here.


def build_order_lines(world: World, n: int) -> dict[str, list[str]]:

    order = world.extra.get("big_order")
    if order is None:
        order = world.extra["big_order"] = factories.OrderFactory(customer=world.customer)
    markers = {"name": [], "sku": []}
    for _ in range(n):
        k = world.next()
        product = factories.ProductFactory(sku=f"GADGET-{k:04d}", name=f"Gadget {k:04d}", price=Decimal("999.00"))
        line = factories.add_line(order, product=product, quantity=2)
        factories.add_gift(order, main=line, line_no=line.line_no + 1, name=f"Gift {k:04d}")
        warranty.register_unit(line=line, serial_number=f"SN-G{k:06d}", source="storefront")
        markers["name"].append(product.name)
        markers["sku"].append(product.sku)
    return markers


def big_order(name: str, *, api: bool = False) -> Callable[[World], str]:
    return lambda world: reverse(name, args=[world.extra["big_order"].number])


ONE_ORDER = Group(
    "one order's lines",
    build_order_lines,
    (
        Page("portal order page", "customer", big_order("portal:order-detail"), "name", 10**6),
        Page("portal after-sales options", "customer", big_order("returns:order-options"), "name", 10**6),
        Page("portal price protection of an order", "customer", big_order("priceprotect:order"), "name", 10**6),
        Page("api order", "customer", big_order("api-order-detail"), "sku", 10**6),
        Page("api after-sales options", "customer", big_order("api-order-options"), "sku", 10**6),
        Page("api warranty coverage", "customer", big_order("api-warranty-coverage"), "sku", 10**6),
        Page("api price protection of an order", "customer", big_order("api-priceprotect-order"), "sku", 10**6),
        Page(
            "admin order page",
            "supervisor",
            lambda world: reverse("admin:orders_order_change", args=[world.extra["big_order"].pk]),
            "name",
            10**6,
        ),
    ),
)


def build_case_timeline(world: World, n: int) -> dict[str, list[str]]:

    case = world.extra.get("big_case")
    if case is None:
        order = shop_order(world)
        case = world.extra["big_case"] = factories.open_case(customer=world.customer, order=order, note="Cracked")
    notes = []
    for _ in range(n):
        k = world.next()
        case_services.add_note(case=case, actor=world.customer, note=f"Customer note {k:04d}", public=True)
        case_services.add_note(case=case, actor=world.agent, note=f"Staff note {k:04d}", public=False)
        if case.attachments.count() < django_settings.ATTACHMENT_MAX_PER_CASE:
            add_attachment(case=case, uploaded_by=world.customer, upload=photo(f"photo-{k:04d}.png"))
        notes.append(f"Customer note {k:04d}")
    return {"note": notes}


def big_case(name: str) -> Callable[[World], str]:
    return lambda world: reverse(name, args=[world.extra["big_case"].number])


ONE_CASE = Group(
    "one case's timeline",
    build_case_timeline,
    (
        Page("portal case page", "customer", big_case("portal:case-detail"), "note", 10**6),
        Page("api case (customer)", "customer", big_case("api-case-detail"), "note", 10**6),
        Page("api case (staff)", "agent", big_case("api-case-detail"), "note", 10**6),
        Page(
            "admin case page",
            "agent",
            lambda world: reverse("admin:cases_case_change", args=[world.extra["big_case"].pk]),
            "note",
            10**6,
        ),
    ),
)


def build_ticket_messages(world: World, n: int) -> dict[str, list[str]]:

    teams(world)
    case = world.extra.get("big_ticket")
    if case is None:
        case = world.extra["big_ticket"] = tickets.open_ticket(
            customer=world.customer,
            actor=world.customer,
            subject="Keeps rebooting",
            body="Since the update.",
            category="fault",
        )
    messages = []
    for _ in range(n):
        k = world.next()
        tickets.reply(case=case, actor=world.agent, body=f"Answer {k:04d}")
        tickets.reply(case=case, actor=world.agent, body=f"Internal {k:04d}", public=False)
        tickets.customer_reply(case=case, customer=world.customer, body=f"Question {k:04d}")
        messages.append(f"Question {k:04d}")
    return {"message": messages}


def big_ticket(name: str) -> Callable[[World], str]:
    return lambda world: reverse(name, args=[world.extra["big_ticket"].number])


ONE_TICKET = Group(
    "one ticket's messages",
    build_ticket_messages,
    (
        Page("portal ticket page", "customer", big_ticket("portal:case-detail"), "message", 10**6),
        Page("api ticket (customer)", "customer", big_ticket("api-ticket"), "message", 10**6),
        Page("api ticket (staff)", "agent", big_ticket("api-ticket"), "message", 10**6),
        Page(
            "admin ticket page",
            "agent",
            lambda world: reverse("admin:techsupport_ticket_change", args=[world.extra["big_ticket"].pk]),
            "message",
            10**6,
        ),
    ),
)


ALL_GROUPS = (
    ORDERS,
    RETURNS,
    FEEDBACK,
    WARRANTY,
    PRICE_PROTECTION,
    TICKETS,
    FINANCE,
    KNOWLEDGE_BASE,
    CATALOG,
    ONE_ORDER,
    ONE_CASE,
    ONE_TICKET,
)


def enter(client, world: World, page: Page) -> dict:
    """Log in as who asks for the page (outside the count) and return the request's headers."""
    if page.before:
        page.before(world)
    if page.user == "storefront":  # the storefront's token, no session
        client.logout()
        return {"HTTP_AUTHORIZATION": f"Storefront {world.extra['storefront_token']}"}
    if page.user:
        client.force_login(world.user(page.user))
    else:
        client.logout()
    return {}


@pytest.mark.parametrize("group", ALL_GROUPS, ids=[g.name for g in ALL_GROUPS])
def test_list_pages_run_the_same_queries_for_more_rows(group, client, world, django_assert_max_num_queries):
    def get(page: Page, counter):
        headers = enter(client, world, page)
        with counter as captured:
            response = client.get(page.url(world), **headers)
        assert response.status_code == 200, (page.name, response.status_code)
        return len(captured), response.content.decode()

    def shown(page: Page, text: str, at_least: int) -> None:
        """The rows are on the page: an empty page would pass any budget."""
        if page.expect:
            assert all(wanted in text for wanted in page.expect(world)), (page.name, page.expect(world))
        else:
            assert sum(marker in text for marker in markers[page.marker]) >= at_least > 0, page.name

    markers = group.build(world, FEW)
    few = {}
    for page in group.pages:
        get(page, CaptureQueriesContext(connection))  # a first visit may create a settings row: not counted
        few[page.name], text = get(page, CaptureQueriesContext(connection))
        shown(page, text, len(markers.get(page.marker, ())))

    for kind, more in group.build(world, MORE).items():
        markers[kind] += more
    many = {}
    for page in group.pages:
        many[page.name], text = get(page, django_assert_max_num_queries(BUDGETS[page.name], info=page.name))
        shown(page, text, min(len(markers.get(page.marker, ())), page.shows))
    counted = {  # the COUNT of a list now longer than its first page
        page.name: int(0 < page.page_size < len(markers.get(page.marker, ()))) for page in group.pages
    }
    assert many == {name: n + counted[name] for name, n in few.items()}  # the same for FEW and FEW + MORE rows


def test_every_page_has_a_budget():
    names = [page.name for group in ALL_GROUPS for page in group.pages]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(BUDGETS)
