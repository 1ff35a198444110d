"""The OpenAPI schema is what storefronts and other clients code against: it must build cleanly."""

import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_validates_without_warnings_and_covers_every_area(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    paths = schema["paths"]
    for expected in (
        "/api/v1/storefront/orders/{number}",
        "/api/v1/orders/{number}/",
        "/api/v1/cases/{number}/transitions/",
        "/api/v1/cases/{number}/attachments/",
        "/api/v1/orders/{number}/coverage/",
        "/api/v1/warranty/claims/",
        "/api/v1/warranty/claims/{number}/diagnose/",
        "/api/v1/storefront/units/",
        "/api/v1/orders/{number}/price-protection/",
        "/api/v1/price-protection/claims/",
        "/api/v1/price-protection/claims/{number}/approve/",
        "/api/v1/price-protection/exposure/",
    ):
        assert expected in paths, expected
    tags = {tag for ops in paths.values() for op in ops.values() for tag in op.get("tags", [])}
    assert {"cases", "orders", "storefront", "warranty", "price-protection"} <= tags


@pytest.mark.django_db
def test_every_operation_documents_its_error_answers_in_the_one_error_shape(tmp_path):
    """aftersales/common/schema.py: what the fuzz test (tests/security/test_api_fuzz.py) holds answers to."""
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

    def codes(path, method):
        responses = schema["paths"][path][method]["responses"]
        assert all(responses[code]["content"] == error for code in responses if code >= "400")
        return sorted(responses)

    # A staff step on a case: bad input or a refused rule, no or a bad token, no permission, not found,
    # the wrong status or changed meanwhile, a body in a media type it does not read.
    assert codes("/api/v1/returns/{number}/approve/", "post") == ["200", "400", "401", "403", "404", "409", "415"]
    # A paged list: bad filters, a page past the end; a public one is never 403.
    assert codes("/api/v1/cases/", "get") == ["200", "400", "401", "403", "404"]
    assert "403" not in codes("/api/v1/kb/articles/", "get")
    assert schema["components"]["schemas"]["Error"]["required"] == ["code", "detail", "fields"]
