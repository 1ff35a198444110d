# ruff: noqa: E501  (the matrix is a table: one row per URL pattern, one line per row)
"""The authorization matrix: every URL pattern of the project, and who may use it.

`get_resolver()` is walked recursively; every pattern must have exactly one row in `MATRIX` (below) or be
one of the standard Django-admin pages of a model listed in `ADMIN_MODELS`. A URL pattern with no row
fails `test_every_url_pattern_has_a_matrix_row`, and so does a row whose pattern is gone.

For each row the test builds a concrete URL from real objects owned by customer B (tests/security/world.py)
and sends each method the view accepts, as each actor:

- anonymous: 401 with `WWW-Authenticate` (API) or a redirect to the login page (portal, dashboard), unless
  the row is PUBLIC (and then it says why);
- customer A, on B's objects: 404, the same answer as for an object that does not exist (no existence
  oracle), and none of B's marks (e-mail, name, note, order and case numbers, amounts) in the body;
- customer A on staff pages: no access (403/404 in the API, a redirect to the login page in the dashboard);
- each staff role (aftersales/accounts/roles.py) without the row's permission: 403 (404 where the object
  is looked up among what the user may see; the dashboard may also send them back with a message, 302);
  with the permission: the page works (the positive control, so the matrix cannot pass by everything
  failing). Every staff role reads all orders and cases by design, so B's marks are looked for only in
  what customers, anonymous users and storefronts get. A 409 (a step that does not apply to the case's
  kind or state) is accepted from B and from staff, who may read the case anyway, never from A;
- every refused POST/PUT/PATCH/DELETE leaves the database as it was (a fingerprint of the tables that hold
  cases, money, orders and settings is compared). Unsafe requests carry `EVERY_BODY` (valid input for
  most steps, and an image file for upload forms), so a refusal comes from the permission check, not a
  missing field.

Adding a URL: add one row to `MATRIX` with its URL name (or, for an unnamed pattern, its route) as the key:

    R("portal:thing-detail", OWNER, perm="cases.view_case", args={"number": "return_case.number"}),
    R("password_reset", PUBLIC, methods=("GET", "POST"), why="a forgotten password is reset before login"),
    R("two-factor-setup", STAFF, perm="staff", methods=("GET", "POST")),

`args` maps each URL keyword to an attribute path in the world (`return_case.number`, `order.pk`, or
`=literal`); the matrix also builds the same URL with a made-up value for the existence check; `query`
adds a query string the same way. `who` is one of:

    PUBLIC      anyone, signed in or not (give `why`)
    SIGNED_IN   any signed-in user, about their own data; staff with `perm` may see everyone's
                (`staff_ok=False`: a customer-only page, staff are refused)
    OWNER       B's object: B, and staff with `perm` (None: no staff); anyone else 404/403
                (`staff_ok=False`: a customer's own step, refused to staff even with `perm`)
    STAFF       staff with `perm` ("staff": any staff member) only; customers are refused
    STOREFRONT  a storefront's token (`Authorization: Storefront …`), no user session

`methods` lists what the view accepts (DRF views: found from the view class when not given); `ok` is what
an allowed GET answers. A new ModelAdmin: add its model to `ADMIN_MODELS` with the world object its
change page opens (None: the table is empty in the world); its six standard pages are checked against
the model's own view/add/change/delete permissions (`ADMIN_OVERRIDES` for a deliberate difference), and
its custom views get rows in `MATRIX`. Failures name the URL, the method and the actor.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from aftersales.accounts.roles import ROLE_PERMISSIONS, STAFF_ROLES
from tests.security import world as world_module

PUBLIC, SIGNED_IN, OWNER, STAFF, STOREFRONT = "public", "signed-in", "owner", "staff", "storefront"
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
ACTORS = ("anonymous", "customer_a", "customer_b", *STAFF_ROLES, "superuser", "storefront")


@dataclass(frozen=True)
class R:
    key: str  # URL name ("portal:case-detail") or, for an unnamed pattern, its full route
    who: str
    perm: str | None = None  # the Django permission a staff role needs ("app.codename")
    args: dict = field(default_factory=dict)  # URL keyword → attribute path in the world
    methods: tuple | None = None  # None: GET, or for a DRF view the handlers its class defines
    ok: int = 200  # what an allowed GET answers
    data: dict = field(default_factory=dict)  # body for unsafe methods
    why: str = ""  # PUBLIC rows: why no login is needed
    path: str | None = None  # unnamed patterns: the concrete path, with {placeholders} from args
    staff_ok: bool = True  # False: staff with the permission are still refused (a customer-only action)
    std_admin: bool = False  # one of a ModelAdmin's standard pages (rows made from ADMIN_MODELS)
    query: dict = field(default_factory=dict)  # query string: parameter → attribute path in the world, or "=value"
    multipart: bool = False  # an API view that takes files: its body is sent as multipart/form-data


N = "return_case.number"
W = "warranty_case.number"
PP = "pp_case.number"
T = "ticket_case.number"
O = "order.number"  # noqa: E741

CHANGE_CASE, VIEW_CASE, VIEW_ORDER = "cases.change_case", "cases.view_case", "orders.view_order"
WORK_TICKET, REPAIR = "techsupport.work_ticket", "warranty.repair_claim"


def _staff_steps(prefix: str, number: str, steps: str, perm: str = CHANGE_CASE) -> list[R]:
    return [R(f"{prefix}-{s}", STAFF, perm=perm, args={"number": number}) for s in steps.split()]


def _customer_steps(prefix: str, number: str, steps: str, methods=None) -> list[R]:
    return [R(f"{prefix}-{s}", OWNER, args={"number": number}, staff_ok=False, methods=methods) for s in steps.split()]


def _admin_steps(model: str, obj: str, steps: str, perm: str, methods=("POST",)) -> list[R]:
    app, name = model.split(".")
    return [
        R(f"admin:{app}_{name}_{s}", STAFF, perm=perm, args={"object_id": obj}, methods=methods) for s in steps.split()
    ]


# fmt: off
MATRIX: list[R] = [
    # --- Public and plumbing --------------------------------------------------------------------------------
    R("healthz", PUBLIC, why="load balancer probe; says only ok/not ok"),
    R("set_language", PUBLIC, methods=("POST",), data={"language": "en", "next": "/"}, why="language switch before login"),
    R("login", PUBLIC, methods=("GET", "POST"), why="the login page"),
    R("logout", PUBLIC, methods=("POST",), why="logging out needs no login (redirects)"),
    R("admin:login", PUBLIC, methods=("GET",), why="the dashboard's login page (signed-in staff are sent on)"),
    R("admin:logout", PUBLIC, methods=("POST",), why="logging out needs no login (redirects to the index)"),
    R("api-token", PUBLIC, methods=("POST",), why="exchanges e-mail and password for a token (400 without them)"),
    R("schema", PUBLIC, why="the OpenAPI description of the public API; no data"),
    R("api-docs", PUBLIC, why="Swagger UI over the schema; no data"),
    R("api-redoc", PUBLIC, why="ReDoc over the schema; no data"),
    R("kb:help", PUBLIC, why="the help centre is public (published articles only)"),
    R("kb:article", PUBLIC, args={"slug": "article.slug"}, why="published articles are public"),
    R("kb:vote", PUBLIC, args={"slug": "article.slug"}, methods=("POST",), data={"helpful": "1"}, why="anonymous helpfulness votes, one per session"),
    R("kb:downloads", PUBLIC, why="firmware downloads are public"),
    R("kb:product-downloads", PUBLIC, args={"product_id": "product.pk"}, why="a product's public downloads"),
    R("kb:release-file", PUBLIC, args={"pk": "release.pk"}, why="published release files are public"),
    R("api-kb-articles", PUBLIC, why="published articles"),
    R("api-kb-article", PUBLIC, args={"slug": "article.slug"}, why="a published article"),
    R("api-kb-vote", SIGNED_IN, args={"slug": "article.slug"}, data={"helpful": True}),
    R("api-kb-suggest", SIGNED_IN, query={"q": "=pair"}),
    R("api-kb-releases", PUBLIC, why="public release list"),

    # --- Customer portal ----------------------------------------------------------------------------------
    R("portal:home", SIGNED_IN, ok=302),  # sends each user on to their first page
    R("portal:order-list", SIGNED_IN, perm=VIEW_ORDER),
    R("portal:order-detail", OWNER, perm=VIEW_ORDER, args={"number": O}),
    R("portal:case-list", SIGNED_IN, perm=VIEW_CASE),
    R("portal:timeline", SIGNED_IN),
    R("portal:case-detail", OWNER, perm=VIEW_CASE, args={"number": N}, methods=("GET", "POST"), data={"action": "note", "note": "hi"}),
    R("portal:case-feedback", OWNER, args={"number": N}, methods=("POST",), data={"rating": "5"}, staff_ok=False),
    R("portal:case-attachment-upload", OWNER, perm="cases.add_attachment", args={"number": N}, methods=("POST",)),
    R("portal:attachment-download", OWNER, perm=VIEW_CASE, args={"pk": "attachment.pk"}),
    # Supervisors are notified of low ratings, with the customer's comment (R-FB-1).
    R("portal:notification-list", SIGNED_IN, perm="cases.change_followup", methods=("GET", "POST")),
    R("portal:account", SIGNED_IN, staff_ok=False),  # a customer's balance, points and coupons; staff have none
    R("returns:order-options", OWNER, perm=VIEW_ORDER, args={"number": O}),
    R("returns:apply", OWNER, args={"number": O}, methods=("GET", "POST"), staff_ok=False),
    R("returns:label", OWNER, perm=VIEW_CASE, args={"number": N}),
    R("returns:label-pdf", OWNER, perm=VIEW_CASE, args={"number": N}),
    R("returns:tracking", OWNER, args={"number": N}, methods=("POST",), data={"carrier": "SF", "tracking_number": "X1"}, staff_ok=False),
    R("warranty:products", SIGNED_IN),
    R("warranty:register-serial", OWNER, args={"line_id": "tv_line.pk"}, methods=("POST",), data={"serial_number": "SN-ATTACK"}, staff_ok=False),
    R("warranty:claim", OWNER, args={"line_id": "tv_line.pk"}, methods=("GET", "POST"), staff_ok=False),
    R("warranty:tracking", OWNER, args={"number": W}, methods=("POST",), data={"carrier": "SF", "tracking_number": "X1"}, staff_ok=False),
    R("warranty:accept-quote", OWNER, args={"number": W}, methods=("POST",), staff_ok=False),
    R("warranty:decline-quote", OWNER, args={"number": W}, methods=("POST",), staff_ok=False),
    R("warranty:appeal", OWNER, args={"number": W}, methods=("POST",), data={"reason": "please"}, staff_ok=False),
    R("warranty:take-replacement", OWNER, args={"number": W}, methods=("POST",), staff_ok=False),
    R("warranty:confirm-receipt", OWNER, args={"number": W}, methods=("POST",), staff_ok=False),
    R("priceprotect:list", SIGNED_IN),
    R("priceprotect:order", OWNER, perm=VIEW_ORDER, args={"number": "pp_order.number"}, methods=("GET",)),
    R("priceprotect:order", OWNER, args={"number": "pp_order.number"}, methods=("POST",), staff_ok=False),
    R("support:tickets", SIGNED_IN),
    R("support:new", SIGNED_IN, methods=("GET", "POST")),
    R("support:reply", OWNER, args={"number": T}, methods=("POST",), data={"body": "hello"}, staff_ok=False),
    R("kb:answered", OWNER, args={"pk": "deflection.pk"}, methods=("POST",), staff_ok=False),

    # --- API: orders, cases, notifications ----------------------------------------------------------------
    R("api-order-list", SIGNED_IN, perm=VIEW_ORDER),
    R("api-order-detail", OWNER, perm=VIEW_ORDER, args={"number": O}),
    R("api-storefront-order", STOREFRONT, args={"number": O}),
    R("api-storefront-order-milestones", STOREFRONT, args={"number": O}),
    R("api-storefront-product", STOREFRONT, args={"sku": "product.sku"}),
    R("api-storefront-price-changes", STOREFRONT, args={"sku": "product.sku"}),
    R("api-storefront-units", STOREFRONT),
    R("api-case-list", SIGNED_IN, perm=VIEW_CASE),
    R("api-case-detail", OWNER, perm=VIEW_CASE, args={"number": N}),
    # Staff steps of a return are taken on its own endpoints; the generic one takes the customer's "cancel".
    R("api-case-transition", OWNER, args={"number": N}, data={"name": "cancel"}, staff_ok=False),
    R("api-case-notes", OWNER, perm="cases.add_caseevent", args={"number": N}, data={"note": "hi"}),
    R("api-case-attachments", OWNER, perm="cases.add_attachment", args={"number": N}, multipart=True),
    R("api-case-feedback", OWNER, args={"number": N}, data={"rating": 5}, staff_ok=False),
    R("api-notification-list", SIGNED_IN, perm="cases.change_followup"),
    R("api-notifications-read", SIGNED_IN, perm="cases.change_followup"),

    # --- API: returns -----------------------------------------------------------------------------------------
    R("api-order-options", OWNER, perm=VIEW_ORDER, args={"number": O}),
    R("api-return-submit", SIGNED_IN, data={"order": "SO-BEE-0001", "kind": "return", "reason": "no_reason", "lines": []}),
    R("api-return-detail", OWNER, perm=VIEW_CASE, args={"number": N}),
    *_customer_steps("api-return", N, "cancel tracking confirm-receipt"),
    R("api-return-label", OWNER, perm=VIEW_CASE, args={"number": N}),
    *_staff_steps("api-return", N, "approve reject receive inspect send-back ship difference-paid requeue-refund close-without-refund"),

    # --- API: warranty --------------------------------------------------------------------------------------
    R("api-warranty-coverage", OWNER, perm=VIEW_ORDER, args={"number": "tv_order.number"}),
    R("api-warranty-units", OWNER, perm=CHANGE_CASE, args={"number": "tv_order.number", "line_id": "tv_line.pk"}),
    R("api-warranty-claims", SIGNED_IN, perm=VIEW_CASE),
    R("api-warranty-claim", OWNER, perm=VIEW_CASE, args={"number": W}),
    *_customer_steps("api-warranty", W, "cancel tracking accept-quote decline-quote appeal confirm-receipt take-replacement"),
    *_staff_steps("api-warranty", W, "accept book-visit reject receive ship-back-unrepaired ship-accessory payment"),
    *_staff_steps("api-warranty", W, "start-diagnosis diagnose repaired fail-quality-check ship-back", perm=REPAIR),
    R("api-warranty-parts", STAFF, perm="warranty.add_partused", args={"number": W}),
    R("api-warranty-decide-appeal", STAFF, perm="warranty.decide_appeal", args={"number": W}),

    # --- API: price protection ------------------------------------------------------------------------------
    R("api-priceprotect-order", OWNER, perm=VIEW_ORDER, args={"number": "pp_order.number"}),
    R("api-priceprotect-claims", SIGNED_IN, perm=VIEW_CASE),
    R("api-priceprotect-claim", OWNER, perm=VIEW_CASE, args={"number": PP}),
    R("api-priceprotect-approve", STAFF, perm="priceprotect.review_claim", args={"number": PP}),
    R("api-priceprotect-reject", STAFF, perm="priceprotect.review_claim", args={"number": PP}),
    R("api-priceprotect-exposure", STAFF, perm="priceprotect.review_claim", query={"sku": "product.sku", "price": "=1.00"}),

    # --- API: tickets and the knowledge base ------------------------------------------------------------------
    R("api-tickets", SIGNED_IN, perm=WORK_TICKET),
    R("api-ticket", OWNER, perm=WORK_TICKET, args={"number": T}),
    R("api-ticket-messages", OWNER, perm=WORK_TICKET, args={"number": T}, data={"body": "hello"}),
    *_staff_steps("api-ticket", T, "assign triage resolve", perm=WORK_TICKET),
    R("api-ticket-escalate", STAFF, perm="techsupport.escalate_ticket", args={"number": T}),
    R("api-ticket-close", STAFF, perm=WORK_TICKET, args={"number": T}),
    R("api-ticket-reopen", STAFF, perm=WORK_TICKET, args={"number": T}),
    R("api-kb-resolved", OWNER, args={"pk": "deflection.pk"}, staff_ok=False),

    # --- Dashboard (Django admin): the site's own pages -------------------------------------------------------
    R("admin:index", STAFF, perm="staff"),
    R("admin:insight", STAFF, perm="insight.view_insight"),
    R("admin:password_change", STAFF, perm="staff", methods=("GET", "POST")),
    R("admin:password_change_done", STAFF, perm="staff"),
    R("admin:autocomplete", STAFF, perm="orders.view_brand",
      query={"app_label": "=orders", "model_name": "=product", "field_name": "=brand", "term": "=Ac"}),
    R("admin:jsi18n", STAFF, perm="staff"),
    # No model has get_absolute_url, so "view on site" finds nothing: 404 for staff, the login page for others.
    R("admin:view_on_site", STAFF, perm="staff", args={"content_type_id": "order_ct.pk", "object_id": "order.pk"}, ok=404),
    R("admin:app_list", STAFF, perm="orders.view_order", args={"app_label": "=orders"}),
    R("admin/(?P<url>.*)$", STAFF, perm="staff", path="/admin/no-such-page/", ok=404),
    R("admin:auth_user_password_change", STAFF, perm="accounts.change_user", args={"id": "b.pk"}, methods=("GET", "POST")),

    # --- Dashboard: custom views of the model admins ----------------------------------------------------------
    *_admin_steps("cases.followup", "follow_up.pk", "complete assign", "cases.change_followup"),
    *_admin_steps("cases.case", "return_case.pk", "transition", CHANGE_CASE),
    *_admin_steps("cases.case", "return_case.pk", "note", "cases.add_caseevent"),
    *_admin_steps("cases.case", "return_case.pk", "follow_up_call", "cases.add_followup"),
    R("admin:finance_refund_reconciliation", STAFF, perm="finance.approve_refund"),
    R("admin:finance_refund_transfers", STAFF, perm="finance.approve_refund", methods=("GET", "POST")),
    R("admin:finance_refund_export", STAFF, perm="finance.view_refund"),
    *_admin_steps("finance.refund", "refund.pk", "approve hold release reject retry resolve", "finance.approve_refund"),
    *_admin_steps("returns.returnrequest", "return_case.pk", "approve reject receive inspect ship send_back requeue_refund close_without_refund difference_paid", CHANGE_CASE),
    *_admin_steps("warranty.claim", "warranty_case.pk", "accept book_visit reject receive ship_back_unrepaired ship_accessory record_payment", CHANGE_CASE),
    *_admin_steps("warranty.claim", "warranty_case.pk", "start_diagnosis diagnose repaired fail_quality_check ship_back", REPAIR),
    *_admin_steps("warranty.claim", "warranty_case.pk", "add_part", "warranty.add_partused"),
    *_admin_steps("warranty.claim", "warranty_case.pk", "decide_appeal", "warranty.decide_appeal"),
    R("admin:priceprotect_claim_exposure", STAFF, perm="priceprotect.review_claim", args={"product_id": "product.pk"}),
    *_admin_steps("priceprotect.claim", "pp_case.pk", "approve reject", "priceprotect.review_claim"),
    R("admin:techsupport_ticket_stats", STAFF, perm="techsupport.view_ticket"),
    *_admin_steps("techsupport.ticket", "ticket_case.pk", "reply assign triage resolve close reopen", WORK_TICKET),
    *_admin_steps("techsupport.ticket", "ticket_case.pk", "escalate", "techsupport.escalate_ticket"),
    *_admin_steps("techsupport.ticket", "ticket_case.pk", "repair", "warranty.repair_claim"),
    # --- Accounts: registration, password reset, two-factor -------------------------------------------------
    R("register", PUBLIC, methods=("GET", "POST"), why="customers create their account before they can log in"),
    R("register-sent", PUBLIC, why="says only 'check your inbox', whatever the e-mail"),
    R("register-confirm", PUBLIC, args={"token": "=not-a-valid-link"}, methods=("GET", "POST"), ok=400, why="the e-mailed one-time link; a bad link is refused"),
    R("password_reset", PUBLIC, methods=("GET", "POST"), why="a forgotten password is reset before login"),
    R("password_reset_done", PUBLIC, why="says only 'check your inbox', whatever the e-mail"),
    R("password_reset_confirm", PUBLIC, args={"uidb64": "=MQ", "token": "=not-a-valid-link"}, methods=("GET", "POST"), why="the e-mailed one-time link; a bad link is refused"),
    R("password_reset_complete", PUBLIC, why="the 'password changed' page; no data"),
    R("two-factor", STAFF, perm="staff", methods=("GET", "POST")),
    # The TOTP secrets are never shown in the dashboard (OTP_ADMIN_HIDE_SENSITIVE_DATA): even the superuser
    # is refused, so these two are checked like a ModelAdmin page nobody may open.
    R("admin:otp_totp_totpdevice_config", STAFF, perm="otp_totp.view_totpdevice", args={"pk": "=1"}, std_admin=True),
    R("admin:otp_totp_totpdevice_qrcode", STAFF, perm="otp_totp.view_totpdevice", args={"pk": "=1"}, std_admin=True),
]
# fmt: on

# Models with a ModelAdmin → the world object their change/delete/history pages open (None: no row in
# the world; those pages are still checked for who gets in). Their six standard URLs are checked with the
# model's own view/add/change/delete permissions; a page the superuser cannot open either (a read-only
# table has no "add") must be refused to everyone.
ADMIN_MODELS: dict[str, str | None] = {
    "auth.group": "group.pk",
    "authtoken.tokenproxy": "b.pk",  # the proxy's primary key is its user's
    "accounts.user": "b.pk",
    "orders.category": "product.category_id",
    "orders.brand": "product.brand_id",
    "orders.product": "product.pk",
    "orders.pricechange": "price_change.pk",
    "orders.storefront": "storefront.pk",
    "orders.webhookdelivery": "webhook.pk",
    "orders.order": "order.pk",
    "orders.orderline": "line.pk",
    "orders.parcel": "parcel.pk",
    "cases.followup": "follow_up.pk",
    "cases.case": "return_case.pk",
    "cases.caseevent": "event.pk",
    "cases.attachment": "attachment.pk",
    "cases.notification": "notification.pk",
    "cases.feedback": "feedback.pk",
    "cases.businessday": "business_day.pk",
    "finance.refundsettings": "refund_settings.pk",
    "finance.refund": "refund.pk",
    "finance.balanceentry": "balance.pk",
    "finance.pointsentry": "points.pk",
    "finance.coupon": "coupon.pk",
    "returns.returnsettings": "return_settings.pk",
    "returns.returnrequest": "return_case.pk",
    "warranty.warrantysettings": "warranty_settings.pk",
    "warranty.servicecentre": "centre.pk",
    "warranty.accessory": "accessory.pk",
    "warranty.claim": "warranty_case.pk",
    "priceprotect.priceprotectionsettings": "pp_settings.pk",
    "priceprotect.claim": "pp_case.pk",
    "priceprotect.revocation": None,
    "priceprotect.pricedropoffer": None,
    "techsupport.ticket": "ticket_case.pk",
    "techsupport.article": "article.pk",
    "techsupport.release": "release.pk",
    "techsupport.deflection": "deflection.pk",
    "techsupport.team": "team.pk",
    "techsupport.slapolicy": "sla_policy.pk",
    "techsupport.cannedreply": "canned_reply.pk",
    "techsupport.supportsettings": "support_settings.pk",
    "techsupport.slaalert": None,
    "techsupport.mailmessage": "mail_message.pk",
    "axes.accessattempt": None,
    "axes.accesslog": None,
    "axes.accessfailurelog": None,
    "otp_totp.totpdevice": None,
}

# Where a ModelAdmin's pages answer differently from its model's plain permissions, on purpose.
# (admin URL name → the permission that really opens it, with the reason).
ADMIN_OVERRIDES: dict[str, tuple[str, str]] = {
    "admin:techsupport_ticket_add": (WORK_TICKET, "agents log a phone, e-mail or chat contact as a ticket (R-SUP-1)"),
}


def _admin_rows() -> list[R]:
    rows = []
    for label, obj in ADMIN_MODELS.items():
        app, name = label.split(".")
        model = apps.get_model(app, name)
        opts = model._meta
        perm = f"{opts.app_label}.%s_{opts.model_name}"
        args = {"object_id": obj} if obj else {"object_id": "missing_id"}
        gone = 200 if obj else 302  # the admin sends an unknown object id back to the index
        route_app = admin.site._registry[model].opts.app_label if model in admin.site._registry else app
        prefix = f"admin:{route_app}_{opts.model_name}"
        rows += [
            R(f"{prefix}_changelist", STAFF, perm=perm % "view", std_admin=True),
            R(f"{prefix}_add", STAFF, perm=perm % "add", methods=("GET", "POST"), std_admin=True),
            R(f"{prefix}_change", STAFF, perm=perm % "view", args=args, methods=("GET",), ok=gone, std_admin=True),
            R(f"{prefix}_change", STAFF, perm=perm % "change", args=args, methods=("POST",), std_admin=True),
            R(
                f"{prefix}_delete",
                STAFF,
                perm=perm % "delete",
                args=args,
                methods=("GET", "POST"),
                data={"post": "yes"},
                ok=gone,
                std_admin=True,
            ),
            R(f"{prefix}_history", STAFF, perm=perm % "view", args=args, ok=gone, std_admin=True),
            R(
                f"admin/{route_app}/{opts.model_name}/<path:object_id>/",
                STAFF,
                perm="staff",
                args=args,
                path=f"/admin/{route_app}/{opts.model_name}/{{object_id}}/",
                ok=302,
            ),
        ]
    return [
        dataclasses.replace(row, perm=ADMIN_OVERRIDES[row.key][0]) if row.key in ADMIN_OVERRIDES else row
        for row in rows
    ]


ALL_ROWS = MATRIX + _admin_rows()


# --- Walking the URL configuration ----------------------------------------------------------------------------


def url_patterns(resolver=None, prefix="", namespace=""):
    """(key, route) for every URL pattern: the key is the namespaced name, or the route if unnamed."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from url_patterns(pattern, route, ns)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield (name or route), route


def unmatched(patterns: dict, rows: list[R]) -> tuple[list[str], list[str]]:
    """(patterns with no row, rows with no pattern)."""
    keys = {row.key for row in rows}
    missing = sorted(f"{key}  ({route})" for key, route in patterns.items() if key not in keys)
    return missing, sorted(keys - patterns.keys())


def test_every_url_pattern_has_a_matrix_row():
    missing, stale = unmatched(dict(url_patterns()), ALL_ROWS)
    assert not missing, "URL patterns with no row in the authorization matrix:\n  " + "\n  ".join(missing)
    assert not stale, "matrix rows for URL patterns that no longer exist:\n  " + "\n  ".join(stale)


def test_a_new_url_without_a_row_is_reported():
    from django.urls import include, path

    from aftersales import urls as project_urls

    extra = URLResolver(
        get_resolver().pattern,
        [
            *project_urls.urlpatterns,
            path("accounts/", include([path("not-yet-routed/", lambda r: None, name="not-yet-routed")])),
        ],
    )
    missing, stale = unmatched(dict(url_patterns(extra)), ALL_ROWS)
    assert missing == ["not-yet-routed  (accounts/not-yet-routed/)"] and not stale


def test_every_model_admin_is_in_the_matrix():
    registered = {m._meta.label_lower for m in admin.site._registry}
    assert registered == set(ADMIN_MODELS), (
        f"add to ADMIN_MODELS: {sorted(registered - set(ADMIN_MODELS))}; "
        f"remove: {sorted(set(ADMIN_MODELS) - registered)}"
    )


def test_every_matrix_row_lets_someone_in():
    """Each row has a positive control: some actor for whom the URL must work."""
    closed = [row.key for row in MATRIX if not any(allowed(row, actor) for actor in ACTORS)]
    assert not closed, f"rows nobody may use (no positive control): {closed}"


# --- The world ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """B's objects, built once for the module inside a transaction rolled back at the end; each test
    runs in a savepoint of it (pytest-django's `db`), so one test's requests never reach the next."""
    from django.test import override_settings

    media = tmp_path_factory.mktemp("private-media")
    with (
        django_db_blocker.unblock(),
        override_settings(
            PRIVATE_MEDIA_ROOT=media,
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            CELERY_TASK_ALWAYS_EAGER=True,
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            LANGUAGE_CODE="en",
        ),
    ):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            w = world_module.build_world()
            _complete_world(w)
            w.media = media
            w.sessions = {}
            users = {"customer_a": w.a, "customer_b": w.b, "superuser": w.superuser, **w.staff}
            for actor, user in users.items():
                client = Client()
                client.force_login(user)
                w.sessions[actor] = client.cookies[settings.SESSION_COOKIE_NAME].value
            yield w
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _complete_world(w: SimpleNamespace) -> None:
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType
    from rest_framework.authtoken.models import Token

    from aftersales.cases.models import CaseEvent, Feedback, FollowUp
    from aftersales.finance.models import RefundSettings
    from aftersales.orders.models import Order, Parcel
    from priceprotect.models import PriceProtectionSettings
    from returns.models import ReturnSettings
    from techsupport.models import CannedReply, MailMessage, SlaPolicy, SupportSettings
    from warranty.models import WarrantySettings

    w.group = Group.objects.get(name="agent")
    w.token = Token.objects.create(user=w.b)
    w.order_ct = ContentType.objects.get_for_model(Order)
    w.parcel = Parcel.objects.get(order=w.order)
    w.event = CaseEvent.objects.filter(case=w.return_case).first()
    w.feedback = Feedback.objects.first()
    w.follow_up = w.follow_up or FollowUp.objects.first()
    w.refund_settings = RefundSettings.current()
    w.return_settings = ReturnSettings.current()
    w.warranty_settings = WarrantySettings.current()
    w.pp_settings = PriceProtectionSettings.current()
    w.support_settings = SupportSettings.current()
    w.sla_policy = SlaPolicy.objects.first()
    w.canned_reply = CannedReply.objects.first()
    w.mail_message = MailMessage.objects.first()
    w.missing_id = 987654
    w.marks = [
        world_module.B_EMAIL,
        world_module.B_NAME,
        world_module.B_NOTE,
        "SO-BEE-",
        "SN-BEE-",
        "1234.56",
        "1,234.56",
        w.return_case.number,
        w.warranty_case.number,
        w.pp_case.number,
        w.ticket_case.number,
        w.token.key,
    ]


def _get(w, dotted: str):
    if dotted.startswith("="):  # a literal
        return dotted[1:]
    value = w
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def _bogus(value):
    return 987654 if isinstance(value, int) else f"NOPE-{value}"[:40]


def build_url(row: R, w, *, bogus=False, query=True) -> str:
    kwargs = {key: _get(w, path) for key, path in row.args.items()}
    if bogus:
        kwargs = {key: _bogus(value) for key, value in kwargs.items()}
    url = row.path.format(**kwargs) if row.path is not None else reverse(row.key, kwargs=kwargs)
    if row.query and query:
        values = {key: _get(w, path) for key, path in row.query.items()}
        url += "?" + urlencode(values)
    return url


# Every unsafe request carries these fields (plus the row's own): valid input for most steps, so a refusal
# comes from the permission check rather than from a missing field.
EVERY_BODY = {
    "note": "matrix", "notes": "matrix", "reason": "matrix", "text": "matrix", "body": "matrix",
    "carrier": "SF", "tracking_number": "SF000000001", "passed": True, "amount": "1.00", "reference": "matrix",
    "visit_at": "2030-01-02T10:00:00+08:00", "outcome": "covered", "name": "matrix part", "overturn": False,
    "rating": 5, "helpful": True,
}  # fmt: skip


def body(row: R) -> dict:
    return {**EVERY_BODY, **row.data}


# --- Expectations ---------------------------------------------------------------------------------------------


def surface(url: str) -> str:
    if url.startswith("/api/v1/"):
        return "api"
    if url.startswith("/admin/"):
        return "admin"
    return "page"


def role_has(role: str, perm: str | None) -> bool:
    if perm is None:
        return False
    if perm == "staff":  # any staff member: the dashboard's own pages
        return True
    granted = ROLE_PERMISSIONS.get(role, [])
    # As in Django's admin, the "change" permission includes "view".
    return perm in granted or (".view_" in perm and perm.replace(".view_", ".change_") in granted)


def allowed(row: R, actor: str) -> bool:
    """Whether `actor` may use the row's URL (on B's objects)."""
    if row.who == PUBLIC:
        return True
    if row.who == STOREFRONT:
        return actor == "storefront"
    if actor in ("anonymous", "storefront", "customer_a"):
        return row.who == SIGNED_IN and actor == "customer_a"
    if actor == "customer_b":
        return row.who in (SIGNED_IN, OWNER)
    if not row.staff_ok:
        return False
    if row.who == SIGNED_IN:
        return True
    if actor == "superuser":
        return row.perm is not None
    return role_has(actor, row.perm)


# --- Requests -------------------------------------------------------------------------------------------------


def client_for(actor: str, w) -> Client:
    if actor == "storefront":
        return Client(HTTP_AUTHORIZATION=f"Storefront {w.storefront_token}")
    client = Client()
    if actor in w.sessions:  # logged in once for the module: a login writes the user row (last_login)
        client.cookies[settings.SESSION_COOKIE_NAME] = w.sessions[actor]
    return client


def send(client: Client, method: str, url: str, row: R, api: bool):
    if method == "GET":
        return client.get(url)
    data = body(row)
    if api and not row.multipart:
        return client.generic(method, url, data=json.dumps(data), content_type="application/json")
    if method == "POST":
        return client.post(url, {**data, "file": world_module.photo()})  # a real image for upload forms
    return client.generic(method, url, data="", content_type="application/x-www-form-urlencoded")


FINGERPRINT_MODELS = (
    "accounts.user", "auth.group", "authtoken.token", "admin.logentry", "orders.order", "orders.orderline",
    "orders.product", "orders.category", "orders.brand", "orders.pricechange", "orders.storefront",
    "orders.parcel", "orders.webhookdelivery", "cases.case", "cases.caseevent", "cases.attachment",
    "cases.feedback", "cases.followup", "finance.refund", "finance.refundevent", "finance.refundapproval",
    "finance.balanceentry", "finance.pointsentry", "finance.coupon", "finance.refundsettings",
    "returns.returnrequest", "returns.returnline", "returns.returnsettings", "warranty.claim", "warranty.unit",
    "warranty.partused", "warranty.servicecentre", "warranty.accessory", "warranty.warrantysettings",
    "priceprotect.claim", "priceprotect.priceprotectionsettings", "techsupport.ticket", "techsupport.article",
    "techsupport.articlevote", "techsupport.release", "techsupport.deflection", "techsupport.team",
    "techsupport.slapolicy", "techsupport.cannedreply", "techsupport.supportsettings",
)  # fmt: skip


def fingerprint() -> dict:
    """A digest of every row of the tables a request could change (cases, money, orders, settings)."""
    digests = {}
    for label in FINGERPRINT_MODELS:
        model = apps.get_model(label)
        rows = list(model._default_manager.order_by("pk").values_list())
        digests[label] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


def leaked_marks(content: bytes, w) -> list[str]:
    text = content.decode("utf-8", "replace")
    return [mark for mark in w.marks if mark and mark in text]


def content_of(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


TALLY: Counter = Counter()  # requests made, printed at the end of the module (pytest -s)


@pytest.fixture(scope="module", autouse=True)
def _tally():
    yield
    if TALLY:
        print(f"\nauthorization matrix: {len(ALL_ROWS)} rows, {len(dict(url_patterns()))} URL patterns; {dict(TALLY)}")


LOGIN_REDIRECT = re.compile(r"/(accounts|admin)/login/")


def reads_everything(actor: str) -> bool:
    """Every staff role reads all orders and cases (roles.py): B's marks are no secret from them."""
    return actor == "superuser" or (role_has(actor, VIEW_CASE) and role_has(actor, VIEW_ORDER))


def check(row: R, actor: str, method: str, w) -> list[str]:
    """Problems with `actor` sending `method` to the row's URL (an empty list when all is well)."""
    url = build_url(row, w)
    kind = surface(url)
    api = kind == "api"
    may = allowed(row, actor)
    unsafe = method in UNSAFE
    before = fingerprint() if unsafe and not may else None
    response = send(client_for(actor, w), method, url, row, api)
    TALLY["allowed" if may else "refused"] += 1
    after = fingerprint() if before is not None else None
    status = response.status_code
    where = f"{method} {url} as {actor}"
    if status >= 500:
        return [f"{where}: {status} (server error)"]
    if may:
        if method == "GET" and status != row.ok and not (row.who == PUBLIC and status == 302):
            return [f"{where}: expected {row.ok} (allowed), got {status}"]
        if unsafe and status in (401, 403, 404, 405):
            return [f"{where}: expected the view to act (allowed), got {status}"]
        return []
    problems = []
    location = response.get("Location", "")
    no_session = actor == "anonymous" or (actor == "storefront" and not (api and row.who != STOREFRONT))
    if no_session or (kind == "admin" and actor in ("customer_a", "customer_b")):
        if api:
            if status != 401 or not response.has_header("WWW-Authenticate"):
                problems.append(f"{where}: expected 401 with WWW-Authenticate, got {status}")
        elif not (status == 302 and LOGIN_REDIRECT.search(location)):
            problems.append(f"{where}: expected a redirect to the login page, got {status} {location}")
    elif actor == "storefront" or row.who == STOREFRONT:
        if status not in (401, 403):
            problems.append(f"{where}: expected 401/403 (storefront token vs. user session), got {status}")
    elif actor == "customer_b" and status == 409 and row.who in (OWNER, STAFF):
        pass  # a step that does not apply to B's own case in its state (checked once permission is)
    elif actor in ("customer_a", "customer_b"):
        if status not in (403, 404):
            problems.append(f"{where}: expected 404 (or 403 for a staff-only URL), got {status}")
        elif actor == "customer_a" and row.args:
            # The answer for B's object must be the answer for one that does not exist: no existence oracle.
            TALLY["existence twins"] += 1
            twin = send(client_for(actor, w), method, build_url(row, w, bogus=True), row, api).status_code
            if twin != status:
                problems.append(f"{where}: {status}, but {twin} for an object that does not exist (existence oracle)")
    else:  # a staff role without the permission
        refusals = {403, 404}
        if kind == "admin":
            refusals.add(302)  # the dashboard sends the user back with an error message
        if reads_everything(actor):
            refusals.add(409)  # a step that does not apply to the case's kind or state, whoever asks
        if not row.staff_ok:
            refusals |= {302, 400}  # a customer's own step on a case staff may read: refused by the service
        if status not in refusals:
            problems.append(f"{where}: expected 403 (no permission), got {status}")
    if not reads_everything(actor) and leaked_marks(content_of(response), w):
        problems.append(
            f"{where}: refused ({status}) but the body shows B's data {leaked_marks(content_of(response), w)}"
        )
    if before is not None and after != before:
        changed = [label for label, digest in after.items() if digest != before[label]]
        problems.append(f"{where}: refused ({status}) but changed {changed}")
    return problems


def check_no_foreign_data(row: R, actor: str, w) -> list[str]:
    """SIGNED_IN and PUBLIC pages: A (and staff without the row's permission) see none of B's data."""
    url = build_url(row, w)
    TALLY["foreign-data reads"] += 1
    marks = leaked_marks(content_of(client_for(actor, w).get(url)), w)
    return [f"GET {url} as {actor}: shows B's data {marks}"] if marks else []


def methods_of(row: R) -> tuple:
    if row.methods is not None:
        return row.methods
    match = get_resolver().resolve(build_url(row, _FakeWorld(), query=False))
    view_class = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
    if view_class is not None and hasattr(view_class, "permission_classes"):
        return tuple(m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m))
    return ("GET",)


class _FakeWorld:
    """Stand-in values to build a URL before the world exists (for test ids and method discovery)."""

    def __getattr__(self, name):
        return self

    def __str__(self):
        return "1"

    def __index__(self):
        return 1

    def __format__(self, spec):
        return "1"


def disabled_for_everyone(row: R, method: str, w) -> bool:
    """A standard admin page the superuser is refused too (a read-only table's "add"), tried in a savepoint."""
    with transaction.atomic():
        status = send(client_for("superuser", w), method, build_url(row, w), row, False).status_code
        transaction.set_rollback(True)
    return status == 403


def _row_id(row: R) -> str:
    suffix = "-".join(row.methods) if row.key.startswith("admin:") and row.key.endswith("_change") else ""
    return row.key + (f"[{suffix}]" if suffix else "")


@pytest.mark.django_db
@pytest.mark.parametrize("row", ALL_ROWS, ids=_row_id)
def test_authorization(row, world, settings):
    settings.PRIVATE_MEDIA_ROOT = world.media  # where the world's files are
    problems = []
    methods = methods_of(row)
    if row.std_admin and disabled_for_everyone(row, methods[-1], world):
        row = dataclasses.replace(row, perm=None)
    for method in methods:
        # Refused actors first: an allowed actor's request may change the object the others are tried on.
        actors = sorted(ACTORS, key=lambda actor: allowed(row, actor))
        for actor in actors:
            problems += check(row, actor, method, world)
    if row.who in (SIGNED_IN, PUBLIC) and "GET" in methods:
        for actor in ("customer_a", *STAFF_ROLES):
            if actor == "customer_a" or not role_has(actor, row.perm):
                problems += check_no_foreign_data(row, actor, world)
    assert not problems, "\n".join(problems)
