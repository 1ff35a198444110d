"""Schemathesis against our own OpenAPI schema (issue 10, "input attacks"): every operation of
/api/schema/ is called in-process with generated requests, valid and invalid, by customers, staff,
strangers and storefronts, and every answer must be documented and well-formed:

- no 5xx and no traceback in any body (bad input is a 400, never a 500);
- the status code, the content type and the body are the ones the schema documents.

The demo shop (`manage.py seed_demo`: orders in every state, cases of every kind, one login per role,
a storefront) is seeded once for the module; each operation's test then runs in its own savepoint, so
every operation starts from the same data. Path parameters are mostly real numbers of that data (the
customer's own and other customers'), sometimes generated ones.

The budget is `FUZZ_EXAMPLES` generated requests per operation (default below, about two minutes on
SQLite on two cores), derandomized so CI runs the same requests every time; nothing is written to a
Hypothesis database. Replay a failure with the printed `curl`, or rerun one operation with
`pytest tests/security/test_api_fuzz.py -k "POST /api/v1/returns/"`.
"""

import hashlib
import os
import random
from collections import Counter
from contextlib import ExitStack

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())

# Who calls an operation is a deterministic draw from the case itself (below), weighted so staff steps
# are mostly tried by staff and customer pages by the customer, with everyone else mixed in.
PEOPLE = [
    ("customer", 30),
    ("supervisor", 25),
    ("agent", 10),
    ("technician", 10),
    ("finance", 10),
    ("other_customer", 10),
    ("anonymous", 5),
]
STOREFRONT_CALLERS = [("storefront", 85), ("customer", 10), ("anonymous", 5)]


def no_traceback(ctx, response, case):
    """Ours: no 5xx and no Python traceback or debug page in any body, whatever the status."""
    text = (response.content or b"").decode("utf-8", "replace")  # labels are PDFs
    for marker in ("Traceback (most recent call last)", "Internal Server Error", 'File "/'):
        if marker in text:
            raise AssertionError(f"Response body leaks {marker!r}: {text[:300]}")
    if response.status_code >= 500:
        raise AssertionError(f"Server error {response.status_code}")
    return None


# What the run tried, printed at the end of the module: operations, requests, answers by status.
TALLY = {"operations": set(), "requests": 0, "statuses": Counter()}

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    no_traceback,
]


@pytest.fixture(scope="module")
def shop(django_db_setup, django_db_blocker, tmp_path_factory, pytestconfig):
    """The demo shop, seeded once inside a transaction that is rolled back after the module; the
    tokens and real path values the fuzzing draws from."""
    with ExitStack() as stack:
        stack.enter_context(django_db_blocker.unblock())
        var = tmp_path_factory.mktemp("fuzz-var")
        stack.enter_context(
            override_settings(
                VAR_DIR=var,
                PRIVATE_MEDIA_ROOT=var / "private",
                MEDIA_ROOT=var / "media",
                CELERY_TASK_ALWAYS_EAGER=True,
                EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
                # The rate limits have their own tests; here they would only answer 429 (ours, django-ratelimit's).
                RATELIMIT_ENABLED=False,
                RATELIMIT_ENABLE=False,
            )
        )
        # As Django's test client does: a request's end must not close the connection holding the
        # transaction (it would, seeing a connection not in autocommit).
        for signal in (request_started, request_finished):
            signal.disconnect(close_old_connections)
            stack.callback(signal.connect, close_old_connections)
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield _seed()
            _report(pytestconfig)
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _report(pytestconfig):
    """The figures of the run, on the terminal even when every test passed (teardown output is captured)."""
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not TALLY["requests"]:
        return
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(TALLY["statuses"].items()))
    with capture.global_and_fixture_disabled():
        reporter.write_line(
            f"\napi fuzz: {len(TALLY['operations'])} operations, {TALLY['requests']} requests answered "
            f"(FUZZ_EXAMPLES={FUZZ_EXAMPLES}); by status: {statuses}"
        )


def _seed() -> dict:
    from aftersales.accounts.models import User
    from aftersales.cases.models import Case
    from aftersales.common.management.commands import seed_demo
    from aftersales.orders.models import Order, OrderLine, Product
    from techsupport.models import Article, Deflection

    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    logins = {role: email for email, role, _name in seed_demo.LOGINS}
    users = {role: User.objects.get(email=email) for role, email in logins.items()}
    users["other_customer"] = (
        User.objects.filter(groups__name="customer", orders__isnull=False).exclude(pk=users["customer"].pk).first()
    )
    auth = {role: f"Token {Token.objects.get_or_create(user=user)[0].key}" for role, user in users.items()}
    auth["storefront"] = f"Storefront {seed_demo.STOREFRONT_TOKEN}"
    auth["anonymous"] = None

    mine = users["customer"]
    cases = list(Case.objects.values_list("number", "customer_id"))
    orders = list(Order.objects.values_list("number", "customer_id"))

    def own_first(rows):
        own = [number for number, owner in rows if owner == mine.pk]
        return own, [number for number, _owner in rows]

    return {
        "auth": auth,
        "cases": own_first(cases),
        "orders": own_first(orders),
        "lines": own_first(OrderLine.objects.values_list("pk", "order__customer_id")),
        "skus": ([], list(Product.objects.values_list("sku", flat=True))),
        "slugs": ([], list(Article.objects.values_list("slug", flat=True))),
        "deflections": own_first(Deflection.objects.values_list("pk", "customer_id")),
    }


# Path parameter → which seeded values it names; case numbers by the prefix their path serves.
CASE_PREFIX = {
    "/api/v1/returns/": "RMA-",
    "/api/v1/warranty/": "WAR-",
    "/api/v1/price-protection/": "PP-",
    "/api/v1/tickets/": "TKT-",
}


def _real_values(shop, path: str, name: str, rng: random.Random):
    if name == "number" and "/orders/" in path:
        own, every = shop["orders"]
    elif name == "number":
        own, every = shop["cases"]
        prefix = next((p for start, p in CASE_PREFIX.items() if path.startswith(start)), "")
        own, every = [n for n in own if n.startswith(prefix)], [n for n in every if n.startswith(prefix)]
    else:
        own, every = shop[{"line_id": "lines", "sku": "skus", "slug": "slugs", "id": "deflections"}[name]]
    return own if own and rng.random() < 0.6 else every


def _weighted(rng, choices):
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db
def test_api_operation(case, shop):
    # One deterministic draw per case: the same generated request always goes with the same caller and
    # the same real path values, so derandomized runs repeat exactly.
    rng = random.Random(hashlib.sha256(repr((case.path_parameters, case.query, case.body)).encode()).digest())
    storefront = any("storefrontToken" in s for s in case.operation.definition.raw.get("security", []))
    who = _weighted(rng, STOREFRONT_CALLERS if storefront else PEOPLE)
    if case.path_parameters and rng.random() < 0.75:
        for name in case.path_parameters:
            values = _real_values(shop, case.operation.path, name, rng)
            if values:
                case.path_parameters[name] = rng.choice(values)
    headers = {"Authorization": shop["auth"][who]} if shop["auth"][who] else {}
    response = case.call_and_validate(headers=headers, checks=CHECKS)
    TALLY["operations"].add(case.operation.label)
    TALLY["requests"] += 1
    TALLY["statuses"][response.status_code] += 1
