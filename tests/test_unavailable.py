"""Django's 500 handler (aftersales.common.unavailable): the database unreachable is a retryable 503,
anything else stays a plain 500. tests/faults/test_postgres_restart.py shows it with a real restart."""

import json

import pytest
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory

from aftersales.common.unavailable import server_error


def answer(path: str, error: Exception):
    request = RequestFactory().get(path)
    try:
        raise error
    except Exception:  # Django calls the handler while handling the exception
        return server_error(request)


@pytest.mark.parametrize("error", [OperationalError("could not connect"), InterfaceError("connection already closed")])
def test_the_database_unreachable_is_a_503_json_error_on_the_api(error):
    response = answer("/api/v1/tickets/", error)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    body = json.loads(response.content)
    assert body["code"] == "service_unavailable" and body["detail"]


def test_the_database_unreachable_is_a_503_page_in_the_portal():
    response = answer("/cases/", OperationalError("could not connect"))
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert b"Service unavailable" in response.content and b"Traceback" not in response.content


@pytest.mark.django_db
def test_any_other_error_stays_a_500():
    response = answer("/api/v1/tickets/", ValueError("a bug"))
    assert response.status_code == 500
