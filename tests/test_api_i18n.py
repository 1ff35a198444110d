"""API error details speak the client's language (Accept-Language), like the pages: DRF's own messages,
ours, and the envelope's summary."""

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


def test_a_400_is_in_chinese_for_a_chinese_client(client):
    client.force_login(factories.CustomerFactory())
    response = client.post(
        "/api/v1/tickets/", {"subject": "x" * 500}, "application/json", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "部分字段填写有误。"
    assert body["fields"]["body"] == ["此项为必填项。"]
    assert body["fields"]["subject"] == ["请确保这个字段不能超过 200 个字符。"]


def test_and_in_english_for_an_english_one(client):
    client.force_login(factories.CustomerFactory())
    response = client.post("/api/v1/tickets/", {}, "application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["detail"] == "Some fields are not valid."
    assert response.json()["fields"]["body"] == ["This field is required."]


def test_a_404_is_translated(client):
    customer = factories.CustomerFactory()
    client.force_login(customer)
    assert client.get("/api/v1/cases/NOPE/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["detail"] == "未找到。"
