"""The benches ask for real pages: every path bench/explain.py and bench/load.py request is one of the
project's URLs (a renamed URL would otherwise show up only as a failed `make bench`), and the plan check
finds a sequential scan of a big table wherever it sits in a plan."""

import pytest
from django.urls import Resolver404, resolve

from bench import explain, load

LOAD_PATHS = [path.format(order="BENCH000000001", case="RMA-BENCH-00000001") for path in load.PATHS.values()] + [
    path for _name, _role, path in load.DASHBOARD_PAGES
]


@pytest.mark.parametrize("path", [path.split("?")[0] for path in [page.path for page in explain.PAGES] + LOAD_PATHS])
def test_every_benched_path_is_a_url_of_the_project(path):
    try:
        resolve(path)
    except Resolver404:
        pytest.fail(f"{path} is not a URL of the project")


def test_a_sequential_scan_of_a_big_table_is_found_anywhere_in_the_plan():
    plan = {
        "Node Type": "Limit",
        "Plans": [
            {"Node Type": "Index Scan", "Relation Name": "cases_case"},
            {"Node Type": "Hash", "Plans": [{"Node Type": "Seq Scan", "Relation Name": "finance_refund"}]},
            {"Node Type": "Seq Scan", "Relation Name": "techsupport_team"},  # small: fine
        ],
    }
    assert explain.seq_scans(plan, {"cases_case", "finance_refund"}) == ["finance_refund"]


def test_the_benched_server_and_pages_run_without_two_factor_and_rate_limits():
    """wrk replays staff sessions made without a TOTP code and many requests from one address."""
    env = load.gunicorn_env("postgres://bench", "redis://127.0.0.1:6379/9")
    assert (env["STAFF_TWO_FACTOR"], env["RATELIMIT_ENABLED"]) == ("0", "0")


def test_a_benched_session_names_a_backend_that_loads_users(db, customer):
    from django.contrib.auth import BACKEND_SESSION_KEY, load_backend
    from django.contrib.sessions.backends.db import SessionStore

    cookie = load._session_cookie(customer)
    store = SessionStore(cookie["Cookie"].split("=", 1)[1])
    assert load_backend(store[BACKEND_SESSION_KEY]).get_user(customer.pk) == customer
