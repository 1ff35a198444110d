"""Every filter and sort the queues use has an index: each queue page and list endpoint is asked once in
this process (Django's test Client, as the staff member or customer who uses it), every query it runs is
EXPLAINed on the bench dataset, and a sequential scan of a big table (over BIG_ROWS rows) is a failure.
The insight page is left out: it reads a year of rows on purpose (bench/insight.py times it)."""

from dataclasses import dataclass

BIG_ROWS = 10_000


@dataclass(frozen=True)
class Page:
    name: str
    who: str  # a staff role (agent@bench.example …) or "customer" (API token of a customer with cases)
    path: str


PAGES = [
    Page("returns queue", "agent", "/admin/returns/returnrequest/"),
    Page("returns queue: received returns", "agent", "/admin/returns/returnrequest/?kind=return&status=received"),
    Page("returns queue: overdue", "agent", "/admin/returns/returnrequest/?overdue=yes"),
    Page("cases", "agent", "/admin/cases/case/"),
    Page("ticket queue by SLA", "agent", "/admin/techsupport/ticket/"),
    Page("ticket queue: breached", "agent", "/admin/techsupport/ticket/?sla_flag__exact=breached"),
    Page("repair board", "agent", "/admin/warranty/claim/"),
    Page("price-protection claims", "agent", "/admin/priceprotect/claim/"),
    Page("refund queue", "finance", "/admin/finance/refund/"),
    Page("refund queue: pending approval", "finance", "/admin/finance/refund/?state__exact=pending_approval"),
    Page("API: a customer's orders", "customer", "/api/v1/orders/"),
    Page("API: a customer's cases", "customer", "/api/v1/cases/"),
    Page("API: cases, returns open (staff)", "agent", "/api/v1/cases/?kind=return&status=received"),
    Page("API: tickets (staff)", "agent", "/api/v1/tickets/"),
]


def big_tables() -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace "
            "AND reltuples > %s",
            [BIG_ROWS],
        )
        return {row[0] for row in cursor.fetchall()}


def seq_scans(plan: dict, big: set[str]) -> list[str]:
    found = []
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in big:
        found.append(plan["Relation Name"])
    for child in plan.get("Plans", []):
        found += seq_scans(child, big)
    return found


def _client(who: str):
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from aftersales.accounts.models import User
    from aftersales.cases.models import Case

    if who == "customer":
        customer_id = Case.objects.filter(kind="return").order_by("-id").values_list("customer_id", flat=True)[0]
        token, _ = Token.objects.get_or_create(user_id=customer_id)
        return Client(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_ACCEPT_LANGUAGE="en")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(User.objects.get(email=f"{who}@bench.example"))
    return client


def check() -> list[dict]:
    """Each page's queries and the big tables any of them scans sequentially; prints a line per page."""
    import json

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    big = big_tables()
    results = []
    for page in PAGES:
        client = _client(page.who)
        with CaptureQueriesContext(connection) as captured:
            status = client.get(page.path).status_code
        scans = []
        selects = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
        with connection.cursor() as cursor:
            for sql in selects:
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
                plan = cursor.fetchone()[0]
                plan = json.loads(plan) if isinstance(plan, str) else plan
                if tables := seq_scans(plan[0]["Plan"], big):
                    scans.append({"tables": sorted(set(tables)), "sql": sql[:400]})
        ok = status == 200 and not scans
        results.append({"page": page.name, "path": page.path, "status": status, "queries": len(selects), "ok": ok,
                        "seq_scans": scans})  # fmt: skip
        scanned = ", ".join(sorted({t for scan in scans for t in scan["tables"]})) or "none"
        print(f"  {page.name:<36} {status}  {len(selects):3d} queries  big-table seq scans: {scanned}")
    return results


def print_summary(results: list[dict]) -> None:
    failed = [r for r in results if not r["ok"]]
    print(f"  query plans: {len(results) - len(failed)} of {len(results)} queue pages use indexes only")
    for result in failed:
        tables = ", ".join(sorted({t for scan in result["seq_scans"] for t in scan["tables"]}))
        print(f"    {result['page']}: status {result['status']}, sequential scans of {tables}")
