"""The demo shop's warranty claims are made through the warranty services: whole claims at every
stage of the repair board."""

import pytest
from django.core.management import call_command

from aftersales.cases.models import Case
from warranty.models import Accessory, Claim, ServiceCentre

pytestmark = pytest.mark.django_db


def test_seeded_warranty_claims_are_whole_and_cover_the_board():
    call_command("seed_demo", stdout=None)
    cases = Case.objects.filter(kind="warranty")
    assert cases.count() >= 4 and not cases.filter(warranty_claim__isnull=True).exists()
    statuses = set(cases.values_list("status", flat=True))
    assert {"diagnosing", "excluded", "appealed", "closed"} <= statuses
    mine = cases.get(customer__email="customer@demo.local")
    assert mine.status == "diagnosing" and mine.warranty_claim.received_at is not None
    assert Claim.objects.filter(centre__isnull=False).exists()  # routed (R-WAR-7)
    assert Claim.objects.filter(quote_amount__isnull=False, case__status="excluded").exists()
    assert ServiceCentre.objects.count() == 4 and Accessory.objects.filter(wearing_part=True).exists()
    assert cases.get(status="closed").feedback.rating == 5
    call_command("seed_demo", "--force", stdout=None)  # seeding again adds nothing
    assert Case.objects.filter(kind="warranty").count() == cases.count()
