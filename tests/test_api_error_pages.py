"""Django's own error answers under /api/ come in the API's JSON error shape (found by the API fuzz test:
an unmatched path parameter and a form with too many fields answered HTML pages)."""

import pytest


@pytest.mark.django_db
def test_an_api_url_no_route_matches_answers_json_404(client):
    response = client.post("/api/v1/kb/deflections/not-a-number/resolved/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "detail": "Not found.", "fields": {}}


@pytest.mark.django_db
def test_an_api_request_django_cannot_parse_answers_json_400(client, settings):
    from aftersales.orders import services

    _storefront, token = services.create_storefront(name="Shop")
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = client.post(
        "/api/v1/storefront/units/",
        {f"f{i}": "x" for i in range(20)},
        headers={"Authorization": f"Storefront {token}"},
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "bad_request"


@pytest.mark.django_db
def test_portal_pages_keep_html_error_pages(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
