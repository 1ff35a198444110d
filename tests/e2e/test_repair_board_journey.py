"""The repair board in a real browser: a technician finds the claim on the board, receives the unit,
starts the diagnosis and records an exclusion with an evidence photo (a multipart form)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from aftersales.cases.models import Case
from tests import factories
from tests.dashboard.conftest import photo
from tests.warranty.conftest import ALL_DOCUMENTS
from warranty import services
from warranty.models import Claim

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_technician_diagnoses_an_exclusion_with_a_photo_from_the_board(
    log_in, browser_problems, screenshots, tmp_path
):
    shots = screenshots / "warranty"
    shots.mkdir(exist_ok=True)
    customer = factories.CustomerFactory()
    technician = factories.StaffFactory(role="technician")
    order = factories.order_with_lines(customer=customer, signed_for_at=timezone.now() - timedelta(days=20))
    case = services.file_claim(
        customer=customer,
        line=order.lines.get(),
        fault="display",
        description="Black screen after ten minutes",
        documents=ALL_DOCUMENTS,
        photos=[photo()],
    )
    evidence = tmp_path / "liquid-inside.png"
    Image.new("RGB", (320, 240), (40, 90, 200)).save(evidence)

    board = log_in(technician, reverse("admin:warranty_claim_changelist"))
    expect(board.get_by_role("link", name="Overdue repairs")).to_be_visible()
    board.screenshot(path=shots / "01-board.png", full_page=True)
    board.get_by_role("link", name=case.number, exact=True).click()
    expect(board.get_by_role("heading", name="Act on this repair")).to_be_visible()

    board.get_by_role("button", name="Unit received").click()
    expect(board.get_by_text(f"Case {case.number} is now: Unit received.")).to_be_visible()
    board.get_by_role("button", name="Start diagnosis").click()
    expect(board.get_by_text(f"Case {case.number} is now: Being diagnosed.")).to_be_visible()

    board.get_by_label("Not covered (exclusion)").check()
    board.get_by_label("What was found (shown to the customer)").fill("Liquid inside the panel")
    board.get_by_label("Exclusion", exact=True).select_option("accident")
    board.get_by_label("Explanation for the customer").fill("Water damage is not covered by the warranty.")
    board.get_by_label("Paid repair quote (optional)").fill("180.00")
    board.get_by_label("Evidence photos (at least one)").set_input_files(evidence)
    board.screenshot(path=shots / "02-diagnose-filled.png", full_page=True)
    board.get_by_role("button", name="Record the diagnosis").click()
    expect(board.get_by_text(f"Case {case.number} is now: Not covered: paid repair offered.")).to_be_visible()
    expect(board.get_by_role("img", name="liquid-inside.png")).to_be_visible()  # the evidence thumbnail
    board.screenshot(path=shots / "03-excluded.png", full_page=True)

    assert Case.objects.get(pk=case.pk).status == "excluded"
    claim = Claim.objects.get(pk=case.pk)
    assert (claim.exclusion, str(claim.quote_amount)) == ("accident", "180.00")
    assert case.attachments.filter(uploaded_by=technician, original_name="liquid-inside.png").exists()
    assert browser_problems == []
