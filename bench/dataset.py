"""A year of after-sales work on PostgreSQL, built with `INSERT … SELECT generate_series` statements: the
dataset every bench that needs a shop's worth of rows shares (bench/run.py, bench/insight.py).

At --scale 1.0 (the target dataset):

  100,000 customers; 2,000 products of 40 brands in 12 categories with 24 sub-categories;
  1,000,000 orders placed over the last 395 days (about 1.4 lines each, popular products more often,
  2.5 % cancelled);
  200,000 cases opened after their orders: returns 35 %, exchanges 10 %, reissues 3 %, refund-only 7 %,
  warranty 15 %, price protection 10 %, tickets 20 %; most closed after a log-normal time per kind, with
  each kind's final and open statuses; their timeline events (opened, status changes, closed);
  return requests with reasons and return lines, warranty claims with faults, tickets with categories,
  first responses and breaches, price-protection claims with lines, compensation and revocations;
  refunds of every source, destination and state (paid ones with paid times), goodwill refunds with no
  case; ratings (1–5) with reasons for 40 % of the closed cases; an agent, a finance officer and a
  supervisor (`<role>@bench.example`).

Customers, orders and cases scale with --scale (products too, at least 100). Then VACUUM ANALYZE and the
hourly roll-up of units sold per day as it would have run last, with 10 orders of the last 3 days
cancelled after it (their days are read live, as today's are)."""

import os
import secrets
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.database import timed

CHANGED_ORDERS = 10  # orders of the last days cancelled since the last (hourly) roll-up
CHANGED_DAYS = 3
BRANDS = 40
PARENT_CATEGORIES = 12
DAYS_OF_ORDERS = 395

# Kinds of case, per mille, and their resolution time (hours: log-normal median and sigma).
KINDS = [
    ("return", 350, 96, 0.7),
    ("exchange", 100, 120, 0.7),
    ("reissue", 30, 72, 0.6),
    ("refund_only", 70, 48, 0.8),
    ("warranty", 150, 240, 0.6),
    ("price_protection", 100, 20, 1.0),
    ("ticket", 200, 18, 1.2),
]
# Statuses a case ends in (repeated by weight), and those it may still be in.
FINAL = {
    "return": ["completed"] * 14 + ["rejected"] * 2 + ["cancelled"] * 2 + ["expired", "sent_back"],
    "exchange": ["completed"] * 15 + ["rejected"] * 2 + ["cancelled"] * 2 + ["sent_back"],
    "reissue": ["completed"] * 8 + ["rejected", "cancelled"],
    "refund_only": ["completed"] * 7 + ["rejected"] * 2 + ["cancelled"],
    "warranty": ["closed"] * 12
    + ["rejected"] * 2
    + ["cancelled"] * 2
    + ["handed_over"] * 2
    + ["returned_unrepaired", "expired"],
    "price_protection": ["compensated"] * 16 + ["rejected"] * 3 + ["revoked"],
    "ticket": ["closed"],
}
OPEN = {
    "return": ["submitted", "awaiting_parcel", "received", "refund_pending"],
    "exchange": ["submitted", "awaiting_parcel", "received", "replacement_shipped"],
    "reissue": ["submitted", "reissue_approved"],
    "refund_only": ["submitted", "refund_pending"],
    "warranty": ["submitted", "awaiting_unit", "diagnosing", "repairing"],
    "price_protection": ["submitted", "approved"],
    "ticket": ["new", "open", "waiting_on_customer"],
}
RETURN_REASONS = ["no_reason"] * 8 + ["quality"] * 6 + ["transit_damage"] * 2 + ["wrong_item", "missing_parts"]
RETURN_REASONS += ["not_as_described"] * 2 + ["not_received"]
FAULTS = ["battery"] * 4 + ["display"] * 3 + ["no_power"] * 2 + ["connectivity"] * 2
FAULTS += ["audio", "controls", "noise_heat", "software", "software", "mechanical", "other"]
TICKET_CATEGORIES = ["usage"] * 7 + ["fault"] * 6 + ["firmware"] * 2 + ["complaint"] * 3 + ["other"] * 2
PP_DESTINATIONS = ["coupon"] * 6 + ["balance"] * 2 + ["points", "original_payment"]
REFUND_DESTINATIONS = ["original_payment"] * 15 + ["balance"] * 2 + ["coupon", "points", "bank_transfer"]
# What mattered most, by rating (1–5); '' is a rating without a reason.
FEEDBACK_REASONS = {
    1: ["policy", "policy", "outcome", "outcome", "staff", "speed", "product", ""],
    2: ["outcome", "outcome", "speed", "speed", "policy", "product", "other", ""],
    3: ["speed", "speed", "product", "outcome", "other", ""],
    4: ["speed", "speed", "staff", "outcome", "product", ""],
    5: ["speed", "speed", "speed", "staff", "staff", "outcome", "", ""],
}


def setup_django(url: str, var_dir: Path) -> None:
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "aftersales.settings",
            "DEBUG": "0",  # DEBUG keeps every query in memory and would be measured with the page
            "HTTPS": "0",  # the test Client speaks plain HTTP
            "ALLOWED_HOSTS": "testserver",
            "SECRET_KEY": "bench-only-secret-key-" + secrets.token_urlsafe(40),
            "LOG_LEVEL": "WARNING",
            "VAR_DIR": str(var_dir),
            "CELERY_BROKER_URL": "memory://localhost/",
            # The bench measures pages, not abuse protection: staff sessions made without a TOTP code, and
            # many requests from one address (README "Accounts security").
            "STAFF_TWO_FACTOR": "0",
            "RATELIMIT_ENABLED": "0",
        }
    )
    import django

    django.setup()
    from django.conf import settings

    # As the tests do: plain static URLs, so the page renders without a collectstatic manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def sql_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{value}'" for value in values) + "]"


def pick(values: list[str], u: str = "random()") -> str:
    """SQL: one of `values` (repeated by weight), chosen by a uniform number in [0, 1)."""
    return f"({sql_array(values)})[1 + floor({u} * {len(values)})::int]"


def sizes(scale: float) -> dict[str, int]:
    return {
        "customers": max(100, round(100_000 * scale)),
        "products": max(100, round(2_000 * scale)),
        "orders": max(1_000, round(1_000_000 * scale)),
        "cases": max(200, round(200_000 * scale)),
    }


class Builder:
    """The dataset, one INSERT … SELECT per table, with explicit ids (sequences are reset at the end)."""

    def __init__(self, cursor, size: dict[str, int], now):
        self.cursor = cursor
        self.size = size
        self.params = {
            "now": now,
            "first": now - timedelta(days=DAYS_OF_ORDERS),
            # orders are placed one after the other, `step` seconds apart on average, until 10 minutes ago
            "step": (timedelta(days=DAYS_OF_ORDERS) - timedelta(minutes=10)).total_seconds() / size["orders"],
            "customers": size["customers"],
            "products": size["products"],
            "orders": size["orders"],
            "cases": size["cases"],
            # Case n is about order stride × (n − 1) + 1: one case per order, so each order's refunds
            # stay within its paid total; goodwill refunds go to orders stride × (n − 1) + 2.
            "stride": max(2, size["orders"] // size["cases"]),
        }

    def run(self, sql: str) -> int:
        self.cursor.execute(sql, self.params)
        return self.cursor.rowcount

    def catalogue(self) -> None:
        self.run(
            f"""
            INSERT INTO orders_brand (id, name, warranty_months)
            SELECT b, 'Brand ' || lpad(b::text, 2, '0'), CASE WHEN mod(b, 5) = 0 THEN 24 END
              FROM generate_series(1, {BRANDS}) b;
            INSERT INTO orders_category (id, name, slug, parent_id, no_reason_return_allowed, no_reason_return_days,
                   quality_return_days, exchange_allowed, exchange_days, quality_report_required,
                   never_returnable_kind, price_protection_days, default_warranty_months)
            SELECT c, CASE WHEN c <= {PARENT_CATEGORIES} THEN 'Category ' || c
                           ELSE 'Category ' || (1 + mod(c - 1, {PARENT_CATEGORIES})) || '.' || c END,
                   'bench-category-' || c,
                   CASE WHEN c > {PARENT_CATEGORIES} THEN 1 + mod(c - 1, {PARENT_CATEGORIES}) END,
                   true, 7, 7, true, 15, mod(c, 6) = 0, '', 7 * mod(c, 3), 12
              FROM generate_series(1, {PARENT_CATEGORIES * 3}) c;
            INSERT INTO orders_product (id, sku, name, model_code, brand_id, category_id, price, warranty_months,
                   is_sealed, is_luxury, is_electronics, has_serial_number, active, updated_at)
            SELECT p, 'BENCH-' || lpad(p::text, 6, '0'), 'Bench product ' || p, 'M' || (p / 3),
                   1 + mod(p * 7, {BRANDS}), 1 + mod(p * 13, {PARENT_CATEGORIES * 3}),
                   20 + mod(p * 7919, 300) * 15 - 0.01, NULL, mod(p, 7) = 0, mod(p, 11) = 0, mod(p, 2) = 0,
                   mod(p, 2) = 0, true, %(now)s
              FROM generate_series(1, %(products)s) p
            """
        )

    def customers(self) -> None:
        self.run(
            """
            INSERT INTO accounts_user (id, password, is_superuser, is_staff, is_active, date_joined, email, full_name,
                   phone, region, preferred_language, tier)
            SELECT u, '!bench', false, false, true, %(first)s - interval '1 year', 'customer' || u || '@bench.example',
                   'Customer ' || u, '', '', (ARRAY['zh-hans', 'en', ''])[1 + mod(u, 3)],
                   CASE WHEN mod(u, 20) = 0 THEN 'vip' WHEN mod(u, 5) = 0 THEN 'plus' ELSE 'standard' END
              FROM generate_series(1, %(customers)s) u
            """
        )

    def orders(self) -> None:
        """Lines first (a temporary table: product, quantity, prices), then the orders' totals from them."""
        self.run(
            """
            CREATE TEMPORARY TABLE bench_line AS
            SELECT o AS order_id, l AS line_no, 2 * o - 2 + l AS id, x.product_id, x.quantity, x.discounted
              FROM generate_series(1, %(orders)s) o
             CROSS JOIN LATERAL generate_series(1, CASE WHEN mod(o, 20) < 7 THEN 2 ELSE 1 END) l
             CROSS JOIN LATERAL (
                   SELECT 1 + floor(%(products)s * power(random(), 1.6))::int + 0 * l AS product_id,
                          1 + floor(power(random(), 3) * 3)::int AS quantity,
                          random() < 0.2 AS discounted
             ) x
            """
        )
        self.run(
            """
            CREATE TEMPORARY TABLE bench_priced AS
            SELECT b.id, b.order_id, b.line_no, b.product_id, p.name, b.quantity, p.price AS unit_price,
                   CASE WHEN b.discounted THEN round(p.price * b.quantity * 0.05, 2) ELSE 0 END AS discount
              FROM bench_line b JOIN orders_product p ON p.id = b.product_id
            """
        )
        self.run(
            """
            INSERT INTO orders_order (id, number, customer_id, payment_mode, is_b2b, currency, goods_total,
                   discount_total, shipping_fee, paid_total, placed_at, paid_at, left_warehouse_at, signed_for_at,
                   cancelled_at, shipping_address, source_digest, created_at, updated_at)
            SELECT o.id, 'BENCH' || lpad(o.id::text, 9, '0'), 1 + mod(o.id::bigint * 48271, %(customers)s),
                   CASE WHEN mod(o.id, 10) = 0 THEN 'cod' ELSE 'prepaid' END, mod(o.id, 97) = 0, 'CNY',
                   t.goods, t.discount, o.fee, t.goods - t.discount + o.fee, o.placed,
                   CASE WHEN mod(o.id, 10) <> 0 THEN o.placed + interval '2 minutes'
                        WHEN NOT o.cancelled AND o.placed + interval '3 days' <= %(now)s
                        THEN o.placed + interval '3 days'
                   END,
                   CASE WHEN NOT o.cancelled AND o.placed + interval '20 hours' <= %(now)s
                        THEN o.placed + interval '20 hours' END,
                   CASE WHEN NOT o.cancelled AND o.placed + interval '3 days' <= %(now)s
                        THEN o.placed + interval '3 days' END,
                   CASE WHEN o.cancelled THEN o.placed + interval '1 hour' END,
                   'Bench Road ' || o.id, '', o.placed, o.placed
              FROM (SELECT id, %(first)s + (id - 1 + random()) * %(step)s * interval '1 second' AS placed,
                           mod(id, 5) = 3 AND mod(id / 5, 8) = 0 AS cancelled,
                           CASE WHEN mod(id, 4) = 0 THEN 10 ELSE 0 END AS fee
                      FROM generate_series(1, %(orders)s) id) o
              JOIN (SELECT order_id, sum(unit_price * quantity) AS goods, sum(discount) AS discount
                      FROM bench_priced GROUP BY order_id) t ON t.order_id = o.id
            """
        )
        self.run(
            """
            INSERT INTO orders_orderline (id, order_id, line_no, product_id, product_name, quantity, unit_price,
                   discount, paid_amount)
            SELECT id, order_id, line_no, product_id, name, quantity, unit_price, discount,
                   unit_price * quantity - discount
              FROM bench_priced
            """
        )
        self.run("DROP TABLE bench_line; DROP TABLE bench_priced")

    def cases(self) -> None:
        """Cases (kind by a hash of the number), opened after their order, closed after a log-normal time."""
        kinds = []
        low = 0
        for kind, per_mille, median_hours, sigma in KINDS:
            kinds.append((kind, low, low + per_mille, median_hours, sigma))
            low += per_mille
        kind_case = " ".join(f"WHEN h < {high} THEN '{kind}'" for kind, _low, high, _m, _s in kinds)
        median_case = " ".join(f"WHEN '{kind}' THEN {m}" for kind, _l, _h, m, _s in kinds)
        sigma_case = " ".join(f"WHEN '{kind}' THEN {s}" for kind, _l, _h, _m, s in kinds)
        final_case = " ".join(f"WHEN '{kind}' THEN {pick(FINAL[kind], 'x.s')}" for kind in FINAL)
        open_case = " ".join(f"WHEN '{kind}' THEN {pick(OPEN[kind], 'x.s')}" for kind in OPEN)
        prefix_case = (
            "CASE x.kind WHEN 'warranty' THEN 'WAR' WHEN 'price_protection' THEN 'PP' "
            "WHEN 'ticket' THEN 'TKT' ELSE 'RMA' END"
        )
        self.run(
            f"""
            CREATE TEMPORARY TABLE bench_case AS
            SELECT c.id, c.kind, c.order_id, c.customer_id, c.placed, o.opened,
                   o.opened + exp(ln(CASE c.kind {median_case} END) + (CASE c.kind {sigma_case} END)
                                  * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) * interval '1 hour'
                     AS closes,
                   random() AS s, random() < 0.97 AS settles
              FROM (SELECT n AS id, CASE {kind_case} END AS kind,
                           CASE WHEN CASE {kind_case} END = 'ticket' AND mod(n, 2) = 0 THEN NULL ELSE ord.id END
                             AS order_id,
                           CASE WHEN CASE {kind_case} END = 'ticket' AND mod(n, 2) = 0
                                THEN 1 + mod(n * 7, %(customers)s) ELSE ord.customer_id END AS customer_id,
                           ord.placed_at AS placed
                      FROM (SELECT n, mod(n * 2654435761, 1000) AS h FROM generate_series(1, %(cases)s) n) hashed
                      JOIN orders_order ord ON ord.id = %(stride)s * (n - 1) + 1) c
             CROSS JOIN LATERAL (
                   SELECT CASE WHEN wanted < %(now)s - interval '5 minutes' THEN wanted
                               ELSE c.placed + (%(now)s - interval '5 minutes' - c.placed) * random() END AS opened
                     FROM (SELECT c.placed + CASE c.kind
                                  WHEN 'warranty' THEN interval '15 days' + random() * interval '300 days'
                                  WHEN 'price_protection' THEN interval '1 day' + random() * interval '6 days'
                                  WHEN 'ticket' THEN random() * interval '60 days'
                                  ELSE interval '2 days' + random() * interval '8 days' END AS wanted) w
             ) o
            """
        )
        self.run(
            f"""
            INSERT INTO cases_case (id, number, kind, customer_id, order_id, status, subject, opened_at, closed_at,
                   deadline_action, version, updated_at)
            SELECT x.id, {prefix_case} || '-BENCH-' || lpad(x.id::text, 8, '0'), x.kind, x.customer_id, x.order_id,
                   CASE WHEN x.closed THEN CASE x.kind {final_case} END ELSE CASE x.kind {open_case} END END,
                   '', x.opened, CASE WHEN x.closed THEN x.closes END, '', 3,
                   CASE WHEN x.closed THEN x.closes ELSE x.opened END
              FROM (SELECT *, settles AND closes <= %(now)s AS closed FROM bench_case) x
            """
        )
        self.run("DROP TABLE bench_case")

    def events(self) -> None:
        """The timeline: opened; for closed cases a step half-way and the final status change."""
        self.run(
            """
            INSERT INTO cases_caseevent (case_id, at, type, from_status, to_status, note, data, public)
            SELECT id, opened_at, 'opened', '', CASE kind WHEN 'ticket' THEN 'new' ELSE 'submitted' END, '',
                   '{}'::jsonb, true
              FROM cases_case
            UNION ALL
            SELECT id, opened_at + (closed_at - opened_at) / 2, 'transition',
                   CASE kind WHEN 'ticket' THEN 'new' ELSE 'submitted' END,
                   CASE kind WHEN 'ticket' THEN 'open' WHEN 'warranty' THEN 'diagnosing' ELSE 'approved' END,
                   '', '{}', true
              FROM cases_case WHERE closed_at IS NOT NULL
            UNION ALL
            SELECT id, closed_at, 'transition', CASE kind WHEN 'ticket' THEN 'open' ELSE 'approved' END, status,
                   '', '{}', true
              FROM cases_case WHERE closed_at IS NOT NULL
            """
        )

    def details(self) -> None:
        """Each case's detail row: return requests and lines, warranty claims, tickets, price-protection claims."""
        self.run(
            f"""
            INSERT INTO returns_returnrequest (case_id, reason, description, condition, return_shipping_paid_by,
                   refund_estimate, auto_approved, carrier, tracking_number, shipped_at, received_at,
                   inspection_notes, deductions, amount_due, outbound_carrier, outbound_tracking_number)
            SELECT c.id, r.reason, '', '{{}}', CASE WHEN r.reason = 'no_reason' THEN 'customer' ELSE 'shop' END,
                   CASE WHEN c.kind IN ('return', 'refund_only') THEN l.paid_amount ELSE 0 END, l.paid_amount < 500,
                   '', '', CASE WHEN c.closed_at IS NOT NULL THEN c.opened_at + (c.closed_at - c.opened_at) / 4 END,
                   CASE WHEN c.closed_at IS NOT NULL THEN c.opened_at + (c.closed_at - c.opened_at) / 2 END,
                   '', 0, 0, '', ''
              FROM cases_case c
              JOIN orders_orderline l ON l.id = 2 * c.order_id - 1
             CROSS JOIN LATERAL (SELECT {pick(RETURN_REASONS)} || left(c.kind, 0) AS reason) r
             WHERE c.kind IN ('return', 'exchange', 'reissue', 'refund_only')
            """
        )
        self.run(
            """
            INSERT INTO returns_returnline (request_id, order_line_id, quantity)
            SELECT c.id, l.id, 1 + floor(random() * l.quantity)::int
              FROM cases_case c JOIN orders_orderline l ON l.order_id = c.order_id
             WHERE c.kind IN ('return', 'exchange', 'reissue', 'refund_only') AND (l.line_no = 1 OR mod(c.id, 10) < 3)
            """
        )
        self.run(
            f"""
            INSERT INTO warranty_claim (case_id, order_line_id, fault, description, documents, missing_documents, mode,
                   coverage_ends_at, carrier, tracking_number, received_at, diagnosed_at, diagnosis, diagnosis_notes,
                   exclusion, exclusion_explanation, amount_due, appeal_text, outbound_carrier,
                   outbound_tracking_number, repair_days)
            SELECT c.id, 2 * c.order_id - 1, {pick(FAULTS)} || left(c.kind, 0), 'It stopped working', '{{}}', '[]',
                   'ship_in', o.placed_at + interval '1 year', '', '',
                   CASE WHEN c.closed_at IS NOT NULL THEN c.opened_at + (c.closed_at - c.opened_at) / 4 END,
                   CASE WHEN c.closed_at IS NOT NULL THEN c.opened_at + (c.closed_at - c.opened_at) / 3 END,
                   '', '', '', '', 0, '', '', '', 0
              FROM cases_case c JOIN orders_order o ON o.id = c.order_id
             WHERE c.kind = 'warranty'
            """
        )
        self.run(
            """
            INSERT INTO techsupport_team (id, code, name, tier) VALUES
                   (1001, 'bench-first-line', 'Bench first line', 1), (1002, 'bench-technical', 'Bench technical', 2)
            """
        )
        self.run(
            f"""
            INSERT INTO techsupport_ticket (case_id, category, priority, channel, team_id, product_id, customer_tier,
                   first_response_minutes, first_response_due_at, first_responded_at, response_cycle,
                   resolved_at, resolution_used, sla_flag, first_response_breached, next_response_breached,
                   resolution_breached)
            SELECT t.id, t.category, 'normal', (ARRAY['portal', 'email', 'phone', 'chat'])[1 + mod(t.id, 4)],
                   CASE WHEN t.category IN ('fault', 'firmware') THEN 1002 ELSE 1001 END, t.product_id, '', 60,
                   t.due, t.responded, 0, t.closed_at, interval '0', 'ok',
                   coalesce(t.responded > t.due, t.due < %(now)s), false, false
              FROM (SELECT c.id, c.closed_at, {pick(TICKET_CATEGORIES)} || left(c.kind, 0) AS category,
                           coalesce(l.product_id, CASE WHEN mod(c.id, 4) = 0 THEN 1 + mod(c.id, %(products)s) END)
                             AS product_id,
                           c.opened_at + interval '1 hour' AS due,
                           CASE WHEN (c.closed_at IS NOT NULL OR random() < 0.9) AND r.at <= %(now)s
                                     AND (c.closed_at IS NULL OR r.at <= c.closed_at) THEN r.at END AS responded
                      FROM cases_case c
                      LEFT JOIN orders_orderline l ON l.id = 2 * c.order_id - 1
                     CROSS JOIN LATERAL (
                           SELECT c.opened_at + exp(ln(40) + 0.9 * sqrt(-2 * ln(1 - random()))
                                                    * cos(2 * pi() * random())) * interval '1 minute' AS at
                     ) r
                     WHERE c.kind = 'ticket') t
            """
        )
        # Open tickets' clocks as the SLA service keeps them: the first response due until answered, then
        # the resolution due a day after opening; a ticket waiting on the customer has no running target.
        self.run(
            """
            UPDATE techsupport_ticket t
               SET resolution_minutes = 1440, resolution_due_at = c.opened_at + interval '1 day',
                   clock_started_at = CASE WHEN c.status <> 'waiting_on_customer' THEN c.opened_at END,
                   waiting_since = CASE WHEN c.status = 'waiting_on_customer' THEN c.opened_at END,
                   sla_due_at = CASE WHEN c.status = 'waiting_on_customer' THEN NULL
                                     WHEN t.first_responded_at IS NULL THEN t.first_response_due_at
                                     ELSE c.opened_at + interval '1 day' END,
                   sla_flag = CASE WHEN c.status <> 'waiting_on_customer'
                                    AND coalesce(t.first_responded_at, t.first_response_due_at) < %(now)s
                                    AND t.first_responded_at IS NULL THEN 'breached' ELSE 'ok' END
              FROM cases_case c
             WHERE c.id = t.case_id AND c.closed_at IS NULL
            """
        )
        self.run(
            f"""
            CREATE TEMPORARY TABLE bench_claim AS
            SELECT c.id AS case_id, c.order_id, c.status, c.opened_at, c.closed_at, l.id AS line_id, l.quantity,
                   p.paid_unit_price, round(p.paid_unit_price * (1 - d.drop), 2) AS basis_price, d.drop,
                   CASE WHEN random() < 0.85 THEN {pick(PP_DESTINATIONS)} ELSE '' END AS destination,
                   random() < 0.05 AS partly_revoked
              FROM cases_case c
              JOIN orders_orderline l ON l.id = 2 * c.order_id - 1
             CROSS JOIN LATERAL (SELECT round(l.paid_amount / l.quantity, 2) AS paid_unit_price) p
             CROSS JOIN LATERAL (SELECT round((0.05 + random() * 0.25)::numeric, 4) + 0 * c.id AS drop) d
             WHERE c.kind = 'price_protection'
            """
        )

    def refunds(self) -> None:
        """One refund at most per case (on the case's own order), and goodwill refunds with no case."""
        self.run(
            f"""
            INSERT INTO finance_refund (id, order_id, case_id, source, amount, state, destination, bank_account_name,
                   bank_name, bank_account_number, approvals_required, reason, gateway_reference, attempts,
                   last_error, paid_at, revoked_amount, idempotency_key, created_at, updated_at)
            SELECT r.case_id, r.order_id, r.case_id, r.source, r.amount, r.state, r.destination,
                   CASE WHEN r.destination = 'bank_transfer' THEN 'Customer' ELSE '' END,
                   CASE WHEN r.destination = 'bank_transfer' THEN 'Bench Bank' ELSE '' END,
                   CASE WHEN r.destination = 'bank_transfer' THEN '6222' || lpad(r.case_id::text, 12, '0') ELSE '' END,
                   CASE WHEN r.amount > 2000 THEN 2 ELSE 1 END, '', '', CASE WHEN r.state = 'failed' THEN 3 ELSE 1 END,
                   '', CASE WHEN r.state = 'succeeded' THEN r.paid END, r.revoked, 'bench-refund-' || r.case_id,
                   r.created, coalesce(r.paid, r.created)
              FROM (
                    -- completed returns and refund-only requests, exchange differences, warranty hand-overs
                    SELECT c.id AS case_id, c.order_id,
                           CASE c.kind WHEN 'exchange' THEN 'exchange_difference' ELSE c.kind END AS source,
                           CASE WHEN c.kind = 'exchange' THEN greatest(round(l.paid_amount * 0.1, 2), 0.01)
                                ELSE l.paid_amount END AS amount,
                           CASE WHEN c.status = 'refund_pending' THEN
                                     (ARRAY['pending_approval', 'approved', 'processing', 'failed'])[1 + mod(c.id, 4)]
                                WHEN mod(c.id, 50) = 0 THEN 'rejected' ELSE 'succeeded' END AS state,
                           {pick(REFUND_DESTINATIONS)} || left(c.kind, 0) AS destination,
                           coalesce(greatest(c.opened_at, c.closed_at - interval '1 hour'), c.opened_at) AS paid,
                           0 AS revoked, c.opened_at + interval '1 hour' AS created
                      FROM cases_case c JOIN orders_orderline l ON l.id = 2 * c.order_id - 1
                     WHERE (c.kind IN ('return', 'refund_only') AND c.status IN ('completed', 'refund_pending'))
                        OR (c.kind = 'exchange' AND c.status = 'completed' AND mod(c.id, 7) = 0)
                        OR (c.kind = 'warranty' AND c.status = 'handed_over')
                    UNION ALL
                    -- price protection paid back as money, balance or points (a coupon has no refund)
                    SELECT case_id, order_id, 'price_protection', (paid_unit_price - basis_price) * quantity,
                           'succeeded', destination, closed_at,
                           CASE WHEN status = 'revoked' THEN (paid_unit_price - basis_price) * quantity ELSE 0 END,
                           closed_at
                      FROM bench_claim
                     WHERE status IN ('compensated', 'revoked')
                       AND destination IN ('balance', 'points', 'original_payment')
                   ) r
            """
        )
        self.run(
            f"""
            INSERT INTO finance_refund (id, order_id, source, amount, state, destination, bank_account_name, bank_name,
                   bank_account_number, approvals_required, reason, gateway_reference, attempts, last_error, paid_at,
                   revoked_amount, idempotency_key, created_at, updated_at)
            SELECT %(cases)s + g, o.id, 'goodwill', least(o.paid_total, 50), s.state,
                   {pick(["balance", "coupon", "points"])},
                   '', '', '', 1, '', '', 1, '', CASE WHEN s.state = 'succeeded' THEN s.at END, 0,
                   'bench-goodwill-' || g, s.at, s.at
              FROM generate_series(1, %(cases)s / 20) g
              JOIN orders_order o ON o.id = %(stride)s * (g - 1) + 2
             CROSS JOIN LATERAL (
                   SELECT least(o.placed_at + interval '10 days' + random() * interval '20 days', %(now)s) AS at,
                          CASE WHEN mod(g, 10) = 0 THEN 'rejected' ELSE 'succeeded' END AS state
             ) s
            """
        )
        self.run(
            """
            INSERT INTO priceprotect_claim (case_id, order_id, mode, destination, amount, revoked_amount,
                   suspected_pricing_error, largest_drop_percent, automatic, refund_id, decided_at, compensated_at)
            SELECT b.case_id, b.order_id, CASE WHEN b.destination = '' THEN 'reprice' ELSE 'credit' END, b.destination,
                   (b.paid_unit_price - b.basis_price) * b.quantity,
                   CASE WHEN b.status = 'revoked' THEN (b.paid_unit_price - b.basis_price) * b.quantity
                        WHEN b.status = 'compensated' AND b.partly_revoked
                        THEN round((b.paid_unit_price - b.basis_price) * b.quantity / 2, 2) ELSE 0 END,
                   b.drop > 0.25, b.drop * 100, mod(b.case_id, 3) = 0, r.id,
                   CASE WHEN b.status IN ('compensated', 'revoked', 'rejected', 'approved')
                        THEN coalesce(b.closed_at, b.opened_at + interval '1 hour') END,
                   CASE WHEN b.status IN ('compensated', 'revoked') THEN b.closed_at END
              FROM bench_claim b LEFT JOIN finance_refund r ON r.id = b.case_id AND r.source = 'price_protection'
            """
        )
        self.run(
            """
            INSERT INTO priceprotect_claimline (claim_id, order_line_id, units, paid_unit_price, basis_price, amount,
                   drop_percent, revoked_units, revoked_amount)
            SELECT case_id, line_id, quantity, paid_unit_price, basis_price, (paid_unit_price - basis_price) * quantity,
                   drop * 100, CASE WHEN status = 'revoked' THEN quantity ELSE 0 END,
                   CASE WHEN status = 'revoked' THEN (paid_unit_price - basis_price) * quantity ELSE 0 END
              FROM bench_claim
            """
        )
        self.run("DROP TABLE bench_claim")

    def feedback(self) -> None:
        rating_reason = " ".join(
            f"WHEN {rating} THEN {pick(reasons, 'f.v')}" for rating, reasons in FEEDBACK_REASONS.items()
        )
        self.run(
            f"""
            INSERT INTO cases_feedback (case_id, rating, reason, comment, created_at)
            SELECT f.id, f.rating, CASE f.rating {rating_reason} END, '', f.at
              FROM (SELECT c.id, least(c.closed_at + random() * interval '48 hours', %(now)s) AS at, random() AS v,
                           CASE WHEN u < 0.10 THEN 1 WHEN u < 0.18 THEN 2 WHEN u < 0.30 THEN 3 WHEN u < 0.55 THEN 4
                                ELSE 5 END AS rating
                      FROM (SELECT id, closed_at, random() AS u, random() AS sample FROM cases_case
                             WHERE closed_at IS NOT NULL) c
                     WHERE c.sample < 0.4) f
            """
        )

    def staff(self) -> None:
        """`agent@`, `finance@` and `supervisor@bench.example`, each in their role's group."""
        from django.contrib.auth.models import Group

        from aftersales.accounts.models import User
        from aftersales.accounts.roles import AGENT, FINANCE, SUPERVISOR

        for role, group in (("agent", AGENT), ("finance", FINANCE), ("supervisor", SUPERVISOR)):
            user = User.objects.create_user(
                email=f"{role}@bench.example", full_name=f"Bench {role}", is_staff=True, preferred_language="en"
            )
            user.groups.add(Group.objects.get(name=group))

    def reset_sequences(self) -> None:
        from django.apps import apps
        from django.core.management.color import no_style
        from django.db import connection

        models = [model for config in apps.get_app_configs() for model in config.get_models()]
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            self.cursor.execute(sql)


def build(scale: float, now) -> None:
    from django.db import connection

    size = sizes(scale)
    with connection.cursor() as cursor:
        builder = Builder(cursor, size, now)
        cursor.execute("SELECT setseed(0.2026)")
        # The load is the starting state, not changes made after a roll-up: no order-change log for it.
        cursor.execute("ALTER TABLE orders_orderline DISABLE TRIGGER insight_line_written")
        steps = [
            ("catalogue", builder.catalogue),
            (f"{size['customers']:,} customers", builder.customers),
            (f"{size['orders']:,} orders and their lines", builder.orders),
            (f"{size['cases']:,} cases", builder.cases),
            ("case events", builder.events),
            ("return requests, claims, tickets", builder.details),
            ("refunds and price-protection claims", builder.refunds),
            ("feedback", builder.feedback),
            ("sequences", builder.reset_sequences),
        ]
        for label, step in steps:
            timed(f"insert {label}", step)
        cursor.execute("ALTER TABLE orders_orderline ENABLE TRIGGER insight_line_written")
    timed("staff", builder.staff)


def roll_up() -> None:
    """The hourly task as it would have run last, then changes to past orders since."""
    from django.db import connection
    from django.utils import timezone

    from aftersales.insight import rollup
    from aftersales.orders.models import Order

    timed("roll up units sold per day (the hourly task)", rollup.roll_up)
    today = timezone.localdate()
    recent = Order.objects.filter(
        cancelled_at__isnull=True,
        placed_at__gte=timezone.make_aware(datetime.combine(today - timedelta(days=CHANGED_DAYS), datetime.min.time())),
        placed_at__lt=timezone.make_aware(datetime.combine(today, datetime.min.time())),
    ).order_by("pk")
    ids = list(recent.values_list("pk", flat=True))
    changed = Order.objects.filter(pk__in=ids[:: max(1, len(ids) // CHANGED_ORDERS)][:CHANGED_ORDERS])  # every day
    changed.update(cancelled_at=timezone.now())  # their days are noted: read live until the next run
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE insight_dailysales; ANALYZE insight_orderchange")
    print(f"  then {CHANGED_ORDERS} orders of the last {CHANGED_DAYS} days cancelled (their days are read live)")


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def describe() -> None:
    """What was built: rows per table, cases per kind, the database's size."""
    from django.db import connection

    tables = [
        ("customers", "accounts_user"),
        ("products", "orders_product"),
        ("orders", "orders_order"),
        ("order lines", "orders_orderline"),
        ("cases", "cases_case"),
        ("case events", "cases_caseevent"),
        ("return requests", "returns_returnrequest"),
        ("return lines", "returns_returnline"),
        ("warranty claims", "warranty_claim"),
        ("tickets", "techsupport_ticket"),
        ("price-protection claims", "priceprotect_claim"),
        ("refunds", "finance_refund"),
        ("ratings", "cases_feedback"),
    ]
    with connection.cursor() as cursor:
        counts = []
        for label, table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")  # the names of the list above
            counts.append(f"{label} {cursor.fetchone()[0]:,}")
        cursor.execute("SELECT kind, count(*), count(closed_at) FROM cases_case GROUP BY kind ORDER BY 2 DESC")
        kinds = ", ".join(f"{kind} {n:,} ({closed / n:.0%} closed)" for kind, n, closed in cursor.fetchall())
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    print("  " + "; ".join(counts))
    print(f"  cases: {kinds}")
    print(f"  database size {size}")


def already_built(scale: float) -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('orders_order') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return False
        cursor.execute("SELECT count(*) FROM orders_order")
        return cursor.fetchone()[0] == sizes(scale)["orders"]


def prepare(url: str, scale: float, *, reuse: bool, var_dir: Path) -> None:
    """Django set up on `url`, migrated, holding the dataset at `scale`: built afresh, or with `reuse`
    the one an earlier run built at this scale. Prints what it did, how long it took and what is there."""
    from bench.database import recreate_database

    if not reuse:
        recreate_database(url)
    setup_django(url, var_dir)

    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    started = time.perf_counter()
    timed("migrate", call_command, "migrate", verbosity=0)
    if reuse and already_built(scale):
        print("  reusing the data an earlier run built")
    else:
        if reuse:
            connections.close_all()
            recreate_database(url)
            timed("migrate", call_command, "migrate", verbosity=0)
        build(scale, timezone.now().replace(microsecond=0))
    timed("vacuum analyze", vacuum_analyze)
    roll_up()
    print(f"  build time {time.perf_counter() - started:.0f} s")
    describe()
