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
