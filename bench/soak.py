"""`make soak`: the real product held under a mixed customer / agent / finance workload, then its books verified.

On PostgreSQL (--database-url, default postgres://postgres@127.0.0.1:5432/aftersales_soak; dropped, created
and migrated here) and Redis (--broker-url, default redis://127.0.0.1:6379/7; flushed here):

1. Seed: `seed_demo` (catalogue, logins, a demo shop's orders and cases, payments captured at the sandbox
   provider) plus --customers soak customers, each with recent signed-for orders (returns, exchanges, price
   protection) and older ones (warranty), pushed through the storefront ingest service.
2. Start what production runs, on loopback: gunicorn with the production settings (bench/load.py's
   `Server`), a Celery worker with beat, and the sandbox payment gateway (bench/refunds.py's `Processes`).
3. Hold the workload for --seconds or --max-requests, whichever comes first, with --clients threads, each
   an httpx client picking a weighted action: customers (API token and portal session) list orders, ask an
   order's options, read and list cases, open returns, exchanges, warranty claims, tickets and
   price-protection claims, upload a photo, post a return's tracking; agents approve returns through the
   dashboard's bulk action, receive and inspect parcels through the staff API and read the queues; finance
   approves refunds through the refund queue's bulk action, which the worker pays through the gateway.
4. Wait for the approved refunds to be paid, stop the processes, print the figures (requests by kind,
   statuses, p50/p99, cases opened, refunds paid) and run `verify_books` with the gateway's own count.

Fails (exit 1) on any 5xx, any transport error, or any problem `verify_books` reports. Loopback only.
Usage: python bench/soak.py [--seconds 600] [--max-requests 500000] [--clients 6] [--customers 40]
                            [--database-url URL] [--broker-url URL] [--keep | --var-dir DIR] [--json PATH]
"""

import argparse
import io
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/aftersales_soak"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/7"
# Products a customer may return without a service-centre report or a category ban.
SOAK_CATEGORIES = ("phones", "laptops", "accessories")
DRAIN_SECONDS = 90
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

# What each simulated user does, and how often (weights).
ACTIONS = {
    "customer: list orders (API)": 12,
    "customer: order options (API)": 10,
    "customer: list cases (API)": 6,
    "customer: read a case (API)": 10,
    "customer: my orders (portal)": 6,
    "customer: a case page (portal)": 4,
    "customer: open a return": 6,
    "customer: open an exchange": 2,
    "customer: file a warranty claim": 2,
    "customer: open a ticket": 3,
    "customer: file a price-protection claim": 1,
    "customer: upload a photo": 2,
    "customer: post return tracking": 4,
    "agent: returns queue (dashboard)": 3,
    "agent: ticket queue (dashboard)": 2,
    "agent: approve returns (dashboard action)": 4,
    "agent: receive a parcel (API)": 4,
    "agent: inspect a parcel (API)": 4,
    "agent: ship a replacement (API)": 2,
    "agent: answer a ticket (API)": 3,
    "customer: confirm a replacement's receipt (API)": 1,
    "customer: rate a closed case (API)": 2,
    "finance: refund queue (dashboard)": 2,
    "finance: approve refunds (dashboard action)": 4,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- seeding ----------------------------------------------------------------------------------------------


def seed(customers: int, rng: random.Random) -> None:
    """seed_demo, then the soak's own customers and orders through the storefront ingest service, and the
    payments of every paid online order captured at the sandbox provider."""
    from django.core.management import call_command
    from django.utils import timezone

    from aftersales.accounts import roles
    from aftersales.accounts.services import user_create
    from aftersales.finance.demo import capture_demo_payments
    from aftersales.orders import services as order_services
    from aftersales.orders.models import PaymentMode, PriceKind, Product, Storefront
    from aftersales.orders.services.catalog import record_price_change

    call_command("seed_demo", stdout=io.StringIO())
    # A second finance officer: refunds above the threshold need two different approvers (R-FIN-3).
    user_create(email="finance2@soak.example", password=None, role=roles.FINANCE, full_name="Soak finance 2")
    storefront = Storefront.objects.order_by("pk").first()
    products = list(
        Product.objects.filter(category__slug__in=SOAK_CATEGORIES, active=True, price__gt=0).order_by("sku")
    )
    now = timezone.now().replace(microsecond=0)
    for n in range(customers):
        email = f"soak{n}@example.com"
        user_create(email=email, password=None, role=roles.CUSTOMER, full_name=f"Soak {n}", phone="13800000000")
        # Recent orders (inside the 7-day return window) and older ones (warranty only).
        ages = [rng.uniform(0.5, 5) for _ in range(12)] + [rng.uniform(20, 60) for _ in range(4)]
        for k, age_days in enumerate(ages):
            signed = now - timedelta(days=age_days)
            placed = signed - timedelta(days=2)
            picks = rng.sample(products, 2)
            lines = [
                {"line_no": i, "sku": p.sku, "quantity": 1, "unit_price": p.price, "discount": 0}
                | {"paid_amount": p.price}
                for i, p in enumerate(picks, start=1)
            ]
            total = sum(p.price for p in picks)
            order_services.upsert_order(
                storefront=storefront,
                number=f"SOAK{n:03d}{k:03d}",
                customer={"email": email, "full_name": f"Soak {n}", "phone": "13800000000", "region": ""},
                payment_mode=PaymentMode.PREPAID,
                placed_at=placed,
                paid_at=placed + timedelta(minutes=5),
                left_warehouse_at=placed + timedelta(hours=20),
                signed_for_at=signed,
                goods_total=total,
                paid_total=total,
                lines=lines,
                shipping_address=f"Soak street {n}",
                parcels=[
                    {
                        "carrier": "SF Express",
                        "tracking_number": f"SF{n:04d}{k:04d}",
                        "shipped_at": placed + timedelta(hours=20),
                        "signed_for_at": signed,
                    }
                ],
            )
    # Price protection (R-PP-1): half the products' regular prices drop after the orders were paid.
    for product in products[::2]:
        record_price_change(
            product=product,
            price=(product.price * Decimal("0.95")).quantize(Decimal("0.01")),
            kind=PriceKind.REGULAR,
            effective_at=now - timedelta(hours=1),
            note="Soak price drop",
        )
    capture_demo_payments()


def credentials(customers: int) -> dict:
    """API tokens and portal sessions for the soak customers; sessions and tokens for the staff logins."""
    from aftersales.accounts.models import User
    from bench.load import _session_cookie, _token_headers

    people = list(User.objects.filter(email__startswith="soak").order_by("pk"))[:customers]
    tokens = _token_headers(people)
    staff = {role: User.objects.get(email=f"{role}@demo.local") for role in ("agent", "finance")}
    staff_tokens = _token_headers(list(staff.values()))
    finance = [staff["finance"], User.objects.get(email="finance2@soak.example")]
    return {
        "customers": [
            {"id": c.pk, "api": tokens[c.pk], "portal": _session_cookie(c)["Cookie"].split("=", 1)} for c in people
        ],
        "agent": {"api": staff_tokens[staff["agent"].pk], "portal": _session_cookie(staff["agent"])["Cookie"]},
        "finance": [{"portal": _session_cookie(officer)["Cookie"]} for officer in finance],
    }


# --- the workload -----------------------------------------------------------------------------------------

RETURN_CONDITION = {
    "seal_intact": True,
    "package_opened": False,
    "powered_on": False,
    "activated": False,
    "card_inserted": False,
    "water_exposure": False,
    "accessories_complete": True,
}


def png_bytes(rng: random.Random) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), tuple(rng.randrange(256) for _ in range(3))).save(out, "PNG")
    return out.getvalue()


class Figures:
    """Every request's kind, status and time, shared by the client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.server_errors: list[str] = []
        self.client_errors: list[str] = []  # the soak's own bugs: they fail it too
        self.refusals: dict[str, Counter] = defaultdict(Counter)  # 4xx answers by kind: what they said
        self.count = 0

    def add(self, kind: str, status: int, seconds: float, detail: str = "") -> None:
        with self.lock:
            self.times[kind].append(seconds)
            self.statuses[kind][status] += 1
            self.count += 1
            if status >= 500 or status == 0:
                self.server_errors.append(f"{kind}: {status} {detail[:300]}")
            elif status >= 400:
                self.refusals[kind][f"{status} {detail[:160]}"] += 1


class Client:
    """One simulated user session after another: picks a weighted action, asks the server, records it.
    Targets (an eligible order line, a return awaiting its parcel) are read from the database."""

    def __init__(self, base_url: str, creds: dict, figures: Figures, seed_value: int):
        import httpx

        self.http = httpx.Client(base_url=base_url, timeout=60, follow_redirects=False)
        self.creds, self.figures = creds, figures
        self.rng = random.Random(seed_value)
        self.names, self.weights = list(ACTIONS), list(ACTIONS.values())

    def request(self, kind: str, method: str, path: str, **kwargs) -> "object | None":
        import httpx

        started = time.perf_counter()
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            self.figures.add(kind, 0, time.perf_counter() - started, repr(error))
            return None
        self.figures.add(kind, response.status_code, time.perf_counter() - started, response.text)
        return response

    def step(self) -> None:
        name = self.rng.choices(self.names, self.weights)[0]
        getattr(self, "do_" + re.sub(r"\W+", "_", name.split(": ", 1)[1]).strip("_"))(name)

    # customers

    def customer(self) -> dict:
        return self.rng.choice(self.creds["customers"])

    def portal(self, cookie) -> dict:
        return {"Cookie": f"{cookie[0]}={cookie[1]}", "Accept-Language": "en"}

    def do_list_orders_API(self, kind):
        self.request(kind, "GET", "/api/v1/orders/", headers=self.customer()["api"])

    def _order_of(self, c, recent=True):
        from django.utils import timezone

        from aftersales.orders.models import Order

        since = timezone.now() - timedelta(days=6)
        orders = Order.objects.filter(customer_id=c["id"])
        orders = orders.filter(signed_for_at__gte=since) if recent else orders.filter(signed_for_at__lt=since)
        return orders.order_by("?").values_list("number", flat=True).first()

    def do_order_options_API(self, kind):
        c = self.customer()
        if number := self._order_of(c):
            self.request(kind, "GET", f"/api/v1/orders/{number}/options/", headers=c["api"])

    def do_list_cases_API(self, kind):
        self.request(kind, "GET", "/api/v1/cases/", headers=self.customer()["api"])

    def _case_of(self, c, **filters):
        from aftersales.cases.models import Case

        cases = Case.objects.filter(customer_id=c["id"], **filters).order_by("?")
        return cases.values_list("number", flat=True).first()

    def do_read_a_case_API(self, kind):
        c = self.customer()
        if number := self._case_of(c):
            self.request(kind, "GET", f"/api/v1/cases/{number}/", headers=c["api"])

    def do_my_orders_portal(self, kind):
        self.request(kind, "GET", "/orders/", headers=self.portal(self.customer()["portal"]))

    def do_a_case_page_portal(self, kind):
        c = self.customer()
        if number := self._case_of(c):
            self.request(kind, "GET", f"/cases/{number}/", headers=self.portal(c["portal"]))

    def _free_line(self, c, recent=True):
        """A line of one of the customer's orders with no case on it yet."""
        from django.utils import timezone

        from aftersales.orders.models import OrderLine

        since = timezone.now() - timedelta(days=6)
        lines = OrderLine.objects.filter(order__customer_id=c["id"], order__cases__isnull=True)
        if recent:
            lines = lines.filter(order__signed_for_at__gte=since)
        else:
            lines = lines.filter(order__signed_for_at__lt=since)
        return lines.select_related("order", "product").order_by("?").first()

    def _open_return(self, kind, exchange: bool):
        c = self.customer()
        line = self._free_line(c)
        if line is None:
            return
        body = {
            "order": line.order.number,
            "kind": "exchange" if exchange else "return",
            "reason": "not_as_described" if exchange else "no_reason",
            "lines": [{"line_id": line.pk, "quantity": 1}],
            "condition": RETURN_CONDITION,
            "description": "Soak test: the screen flickers." if exchange else "",
        }
        if exchange:
            body["exchange_sku"] = line.product.sku
        self.request(kind, "POST", "/api/v1/returns/", json=body, headers=c["api"])

    def do_open_a_return(self, kind):
        self._open_return(kind, exchange=False)

    def do_open_an_exchange(self, kind):
        self._open_return(kind, exchange=True)

    def do_file_a_warranty_claim(self, kind):
        c = self.customer()
        line = self._free_line(c, recent=False)
        if line is None:
            return
        body = {"line_id": line.pk, "fault": "no_power", "description": "Soak test: it does not switch on."}
        body["documents"] = ["original_invoice", "warranty_card"]
        self.request(kind, "POST", "/api/v1/warranty/claims/", json=body, headers=c["api"])

    def do_open_a_ticket(self, kind):
        c = self.customer()
        body = {"subject": "Soak test question", "body": "How do I pair it?", "category": "usage"}
        if number := self._order_of(c):
            body["order"] = number
        self.request(kind, "POST", "/api/v1/tickets/", json=body, headers=c["api"])

    def do_file_a_price_protection_claim(self, kind):
        c = self.customer()
        if number := self._order_of(c):
            self.request(kind, "POST", "/api/v1/price-protection/claims/", json={"order": number}, headers=c["api"])

    def do_upload_a_photo(self, kind):
        c = self.customer()
        if number := self._case_of(c, closed_at__isnull=True):
            files = {"file": ("photo.png", png_bytes(self.rng), "image/png")}
            self.request(kind, "POST", f"/api/v1/cases/{number}/attachments/", files=files, headers=c["api"])

    def do_post_return_tracking(self, kind):
        c = self.customer()
        number = self._case_of(
            c, kind__in=["return", "exchange"], status="awaiting_parcel", return_request__tracking_number=""
        )
        if number:
            body = {"carrier": "SF Express", "tracking_number": f"SF{self.rng.randrange(10**10):010d}"}
            self.request(kind, "POST", f"/api/v1/returns/{number}/tracking/", json=body, headers=c["api"])

    # agents and finance

    def staff_portal(self, role) -> dict:
        creds = self.creds[role]
        if isinstance(creds, list):  # one of the finance officers
            creds = self.rng.choice(creds)
        return {"Cookie": creds["portal"], "Accept-Language": "en"}

    def do_returns_queue_dashboard(self, kind):
        path = "/admin/returns/returnrequest/?kind=return&status=submitted"
        self.request(kind, "GET", path, headers=self.staff_portal("agent"))

    def do_ticket_queue_dashboard(self, kind):
        self.request(kind, "GET", "/admin/techsupport/ticket/", headers=self.staff_portal("agent"))

    def do_refund_queue_dashboard(self, kind):
        path = "/admin/finance/refund/?state__exact=pending_approval"
        self.request(kind, "GET", path, headers=self.staff_portal("finance"))

    def _admin_action(self, kind, role, changelist: str, pks: list[int]) -> None:
        """A bulk action as staff take it: the changelist page (its CSRF token), then the POST."""
        if not pks:
            return
        page = self.request(kind + " [page]", "GET", changelist, headers=self.staff_portal(role))
        if page is None or page.status_code != 200 or not (match := CSRF_INPUT.search(page.text)):
            return
        csrf = page.cookies.get("csrftoken") or self.http.cookies.get("csrftoken")
        headers = {  # the same officer who got the page
            "Cookie": page.request.headers["cookie"],
            "Accept-Language": "en",
            "Referer": str(self.http.base_url) + changelist,
        }
        if csrf:
            headers["Cookie"] += f"; csrftoken={csrf}"
        data = {"action": "approve_selected", "_selected_action": [str(pk) for pk in pks], "index": "0"}
        data["csrfmiddlewaretoken"] = match.group(1)
        self.request(kind, "POST", changelist, data=data, headers=headers)

    def do_approve_returns_dashboard_action(self, kind):
        from returns.models import ReturnRequest

        pks = list(
            ReturnRequest.objects.filter(case__status="submitted", case__kind__in=["return", "exchange"])
            .order_by("?")
            .values_list("pk", flat=True)[:5]
        )
        self._admin_action(kind, "agent", "/admin/returns/returnrequest/", pks)

    def _agent_step(self, kind, status: str, step: str, body: dict, kinds=("return", "exchange"), **filters):
        from aftersales.cases.models import Case

        number = (
            Case.objects.filter(kind__in=kinds, status=status, **filters)
            .order_by("?")
            .values_list("number", flat=True)
            .first()
        )
        if number:
            headers = self.creds["agent"]["api"]
            self.request(kind, "POST", f"/api/v1/returns/{number}/{step}/", json=body, headers=headers)

    def do_receive_a_parcel_API(self, kind):
        self._agent_step(kind, "awaiting_parcel", "receive", {}, return_request__shipped_at__isnull=False)

    def do_inspect_a_parcel_API(self, kind):
        passed = self.rng.random() < 0.9
        self._agent_step(kind, "received", "inspect", {"passed": passed, "notes": "Soak inspection."})

    def do_ship_a_replacement_API(self, kind):
        body = {"carrier": "SF Express", "tracking_number": f"SF{self.rng.randrange(10**10):010d}"}
        self._agent_step(kind, "inspection_passed", "ship", body, kinds=("exchange",))

    def do_answer_a_ticket_API(self, kind):
        from aftersales.cases.models import Case

        number = (
            Case.objects.filter(kind="ticket", closed_at__isnull=True, customer__email__startswith="soak")
            .exclude(status="resolved")
            .order_by("?")
            .values_list("number", flat=True)
            .first()
        )
        if number:
            body = {"text": "Soak answer: hold the button for ten seconds.", "then": "resolve"}
            path = f"/api/v1/tickets/{number}/messages/"
            self.request(kind, "POST", path, json=body, headers=self.creds["agent"]["api"])

    def do_confirm_a_replacement_s_receipt_API(self, kind):
        c = self.customer()
        if number := self._case_of(c, status="replacement_shipped"):
            body = {"name": "confirm_receipt"}
            self.request(kind, "POST", f"/api/v1/cases/{number}/transitions/", json=body, headers=c["api"])

    def do_rate_a_closed_case_API(self, kind):
        c = self.customer()
        if number := self._case_of(c, closed_at__isnull=False, feedback__isnull=True):
            rating = self.rng.randint(1, 5)
            body = {"rating": rating, "reason": "speed" if rating <= 3 else "", "comment": "Soak rating."}
            self.request(kind, "POST", f"/api/v1/cases/{number}/feedback/", json=body, headers=c["api"])

    def do_approve_refunds_dashboard_action(self, kind):
        from aftersales.finance.models import Refund

        pks = list(
            Refund.objects.filter(state=Refund.State.PENDING_APPROVAL).order_by("?").values_list("pk", flat=True)[:5]
        )
        self._admin_action(kind, "finance", "/admin/finance/refund/", pks)


def run_clients(base_url: str, creds: dict, clients: int, seconds: float, max_requests: int) -> Figures:
    figures = Figures()
    deadline = time.monotonic() + seconds
    started = time.monotonic()

    def loop(n: int) -> None:
        from django.db import connection

        client = Client(base_url, creds, figures, seed_value=1000 + n)
        try:
            while time.monotonic() < deadline and figures.count < max_requests:
                client.step()
        except Exception:
            figures.client_errors.append(traceback.format_exc())
            raise
        finally:
            client.http.close()
            connection.close()

    threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    last = 0.0
    while any(thread.is_alive() for thread in threads):
        time.sleep(1)
        if time.monotonic() - last >= 30:
            last = time.monotonic()
            print(f"  {last - started:5.0f} s: {figures.count:,} requests, {len(figures.server_errors)} 5xx/transport")
    figures.seconds = time.monotonic() - started
    return figures


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


def print_figures(figures: Figures) -> dict:
    everything = [t for times in figures.times.values() for t in times]
    print(f"\n  {'requests by kind':<52} {'count':>7} {'p50 ms':>8} {'p99 ms':>8}   statuses")
    table = {}
    for kind in sorted(figures.times):
        times = figures.times[kind]
        statuses = dict(sorted(figures.statuses[kind].items()))
        p50, p99 = percentile(times, 50) * 1000, percentile(times, 99) * 1000
        table[kind] = {"count": len(times), "p50_ms": round(p50, 1), "p99_ms": round(p99, 1), "statuses": statuses}
        shown = " ".join(f"{s}×{n}" for s, n in statuses.items())
        print(f"  {kind:<52} {len(times):>7,} {p50:>8.1f} {p99:>8.1f}   {shown}")
    print("\n  4xx answers (refusals the rules give), most common first")
    for kind in sorted(figures.refusals):
        for text, n in figures.refusals[kind].most_common(3):
            print(f"  {kind}: {n}× {text}")
    by_status = Counter()
    for counter in figures.statuses.values():
        by_status.update(counter)
    p50, p99 = percentile(everything, 50) * 1000, percentile(everything, 99) * 1000
    rate = figures.count / figures.seconds if figures.seconds else 0
    print(f"  {'all':<52} {figures.count:>7,} {p50:>8.1f} {p99:>8.1f}")
    print(f"  held {figures.seconds:.0f} s, {rate:.1f} requests/s; by status: {dict(sorted(by_status.items()))}")
    return {
        "requests": figures.count,
        "seconds": round(figures.seconds, 1),
        "requests_per_second": round(rate, 1),
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
        "by_status": {str(k): v for k, v in sorted(by_status.items())},
        "by_kind": table,
        "server_errors": len(figures.server_errors),
    }


def wait_for_refunds(processes, seconds: float) -> dict:
    """Approved refunds are paid by the worker: wait until none is approved or processing."""
    from django.db.models import Count

    from aftersales.finance.models import Refund

    deadline = time.monotonic() + seconds
    while True:
        counts = dict(Refund.objects.values_list("state").annotate(n=Count("id")).order_by())
        if (not counts.get("approved") and not counts.get("processing")) or time.monotonic() > deadline:
            return counts
        processes.check_alive()
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600, help="how long the workload is held")
    parser.add_argument("--max-requests", type=int, default=500_000, help="stop earlier after this many requests")
    parser.add_argument("--clients", type=int, default=6, help="client threads")
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="dropped and recreated!")
    parser.add_argument("--broker-url", default=DEFAULT_BROKER_URL, help="flushed!")
    parser.add_argument("--keep", action="store_true", help="keep the logs, e-mails, files and the sandbox's books")
    parser.add_argument(
        "--var-dir", type=Path, help="put them there (and keep them), e.g. for bin/backup-restore-check"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"bench/soak.py needs PostgreSQL; --database-url is {args.database_url!r}")
    if not args.broker_url.startswith("redis://"):
        sys.exit(f"bench/soak.py needs Redis; --broker-url is {args.broker_url!r}")
    if args.database_url == os.environ.get("DATABASE_URL"):
        sys.exit("bench/soak.py drops its database: give it one that is not DATABASE_URL")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # clean up as on Ctrl-C
    sys.stdout.reconfigure(line_buffering=True)

    if args.var_dir:
        args.keep = True
        args.var_dir.mkdir(parents=True, exist_ok=True)
    directory = args.var_dir.resolve() if args.var_dir else Path(tempfile.mkdtemp(prefix="soak-"))
    sandbox_url = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DATABASE_CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": args.broker_url,
        "CACHE_URL": args.broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PAYMENT_GATEWAY": "sandbox",
        "PAYMENT_GATEWAY_URL": sandbox_url,
        "PAYMENT_GATEWAY_SECRET": secrets.token_urlsafe(24),
        "SECRET_KEY": "soak-only-secret-key-" + secrets.token_urlsafe(40),
        "DEBUG": "0",
        "HTTPS": "0",
        "LOG_LEVEL": "WARNING",
        "VAR_DIR": str(directory / "var"),
        "PYTHONUNBUFFERED": "1",
        "EMAIL_URL": f"filemail:///{directory / 'mail'}",  # written, not printed; 4 slashes: an absolute path
        # Many requests from one address and staff sessions made without a login form (harmless where unknown).
        "RATELIMIT_ENABLED": "0",
        "STAFF_TWO_FACTOR": "0",
    }
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "aftersales.settings"
    where = f"{urlparse(args.database_url).hostname}/{urlparse(args.database_url).path[1:]}"
    print(
        f"soak: {args.seconds:.0f} s or {args.max_requests:,} requests, {args.clients} clients, "
        f"{args.customers} customers, on {where} and {args.broker_url}"
    )
    print(f"  logs and the sandbox's books in {directory}")

    import django
    import redis

    from bench.database import recreate_database, timed

    recreate_database(args.database_url)
    redis.Redis.from_url(args.broker_url).flushdb()
    django.setup()

    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    from aftersales.cases.models import Case
    from aftersales.finance.models import Refund
    from bench.load import Server
    from bench.refunds import Processes, sandbox_stats, wait_for_sandbox, wait_for_workers

    timed("migrate", call_command, "migrate", verbosity=0)
    timed("seed (seed_demo and the soak's customers)", seed, args.customers, random.Random(2026))
    creds = credentials(args.customers)
    connections.close_all()
    started_at = timezone.now()
    paid_before = Refund.objects.filter(state="succeeded").count()

    processes = Processes(directory, env)
    failed = []
    try:
        python = sys.executable
        sandbox = ["-m", "aftersales.finance.sandbox", "--port", str(urlparse(sandbox_url).port)]
        processes.start("sandbox", [python, *sandbox, "--db", str(directory / "var" / "sandbox-gateway.sqlite3")])
        wait_for_sandbox(processes, sandbox_url)
        name = f"soak@{socket.gethostname()}"
        worker = ["-m", "celery", "-A", "aftersales", "worker", "--beat", "--loglevel=warning", "--concurrency=2"]
        worker += ["--schedule", str(directory / "celerybeat-schedule"), "--hostname", name]
        processes.start("worker", [python, *worker])
        timed("start the sandbox and the worker (with beat)", wait_for_workers, processes, [name])
        with Server(env, args.workers) as server:
            print(f"\n== workload on {server.url} ({args.workers} gunicorn workers)")
            figures = run_clients(server.url, creds, args.clients, args.seconds, args.max_requests)
            counts = wait_for_refunds(processes, DRAIN_SECONDS)
            processes.check_alive()
        stats = sandbox_stats(sandbox_url, env["PAYMENT_GATEWAY_SECRET"])
    finally:
        processes.stop_all()

    results = print_figures(figures)
    cases_opened = Case.objects.filter(opened_at__gte=started_at).count()
    paid = Refund.objects.filter(state="succeeded").count()
    print(f"  cases opened: {cases_opened:,} (of {Case.objects.count():,}); refunds by state: {counts}")
    print(f"  refunds paid during the soak: {paid - paid_before:,}")
    print(f"  the gateway moved money {stats['refunds_executed']:,} times ({stats['refund_requests']:,} requests)")
    results.update(cases_opened=cases_opened, refunds_by_state=counts, gateway=stats)
    if figures.server_errors:
        failed.append(f"{len(figures.server_errors)} requests answered 5xx or failed to connect")
        for line in figures.server_errors[:20]:
            print(f"  !! {line}")
    if figures.client_errors:
        failed.append(f"{len(figures.client_errors)} client threads failed (the soak's own error)")
        print(f"  !! {figures.client_errors[0]}")
    if counts.get("approved") or counts.get("processing"):
        failed.append(f"refunds still unpaid after {DRAIN_SECONDS} s: {counts}")

    from aftersales.common.books import verify_books

    print("\n== verify_books")
    problems, checked = verify_books(gateway_executed=stats["refunds_executed"])
    for label, count in checked.items():
        print(f"  {label:<60} {count:>8,}")
    for problem in problems:
        print(f"  !! {problem}")
    results.update(verify_books={"checked": checked, "problems": problems})
    failed += problems
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    if failed:
        print(f"\nSOAK FAILED: {len(failed)} problem(s); logs in {directory}")
        sys.exit(1)
    if not args.keep:
        shutil.rmtree(directory, ignore_errors=True)
    print("\nsoak passed: no 5xx, books verified")


if __name__ == "__main__":
    main()
