"""The benches ask for real pages: every path bench/explain.py and bench/load.py request is one of the
project's URLs (a renamed URL would otherwise show up only as a failed `make bench`), and the plan check
finds a sequential scan of a big table wherever it sits in a plan."""

import pytest
from django.urls import Resolver404, resolve

from bench import explain

LOAD_PATHS = [
    "/api/v1/orders/BENCH000000001/options/",
    "/api/v1/orders/",
    "/api/v1/cases/RMA-BENCH-00000001/",
    "/orders/",
    "/api/v1/returns/",
    "/admin/returns/returnrequest/",
    "/admin/techsupport/ticket/",
    "/admin/finance/refund/",
    "/admin/insight/",
]


@pytest.mark.parametrize("path", [page.path.split("?")[0] for page in explain.PAGES] + LOAD_PATHS)
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
