"""The portal's one-page application, the printable return label and the tracking entry."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from aftersales.cases.models import Case
from returns import services
from returns.models import ReturnRequest
from tests import factories

pytestmark = pytest.mark.django_db


def _png(name="photo.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def _apply(client, order, **data):
    return client.post(reverse("returns:apply", args=[order.number]), data)


def test_R_RET_1_no_reason_return_through_the_portal_opens_the_case(client, customer):
    """R-RET-1: a recent order's no-reason return, applied for on the portal's one page."""
    order = factories.order_with_lines(customer=customer)
    line = order.lines.get()
    client.force_login(customer)
    options_page = client.get(reverse("returns:order-options", args=[order.number])).content.decode()
    assert reverse("returns:apply", args=[order.number]) in options_page
    page = client.get(reverse("returns:apply", args=[order.number])).content.decode()
    assert 'value="return:no_reason"' in page and f'name="quantity-{line.pk}"' in page
    assert 'value="accessories_complete"' in page and 'type="file" name="photos"' in page

    response = _apply(
        client,
        order,
        option="return:no_reason",
        **{f"quantity-{line.pk}": "1"},
        condition=["accessories_complete"],
        description="Changed my mind.",
    )
    case = Case.objects.get(order=order)
    assert response.status_code == 302 and response.url == reverse("portal:case-detail", args=[case.number])
    request_row = ReturnRequest.objects.get(case=case)
    assert request_row.reason == "no_reason" and request_row.lines.get().quantity == 1
    assert request_row.condition == {"accessories_complete": True, "water_exposure": False}


def test_R_RET_8_quality_reason_without_a_photo_re_renders_with_the_message(client, customer):
    order = factories.order_with_lines(customer=customer)
    line = order.lines.get()
    client.force_login(customer)
    response = _apply(client, order, option="return:quality", **{f"quantity-{line.pk}": "1"}, description="Broken")
    assert response.status_code == 400
    assert "Please add at least one photo showing the problem" in response.content.decode()
    assert not Case.objects.filter(order=order).exists()


def test_R_RET_8_quality_reason_with_a_photo_opens_the_case_with_the_attachment(client, customer):
    order = factories.order_with_lines(customer=customer)
    line = order.lines.get()
    client.force_login(customer)
    response = _apply(client, order, option="return:quality", **{f"quantity-{line.pk}": "1"}, photos=[_png()])
    assert response.status_code == 302
    case = Case.objects.get(order=order)
    assert case.attachments.count() == 1


def test_over_quantity_is_a_field_error_on_the_line(client, customer):
    order = factories.order_with_lines(customer=customer)
    line = order.lines.get()
    client.force_login(customer)
    response = _apply(
        client, order, option="return:no_reason", **{f"quantity-{line.pk}": "2"}, condition=["accessories_complete"]
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "At most 1 can still be returned." in page and 'aria-invalid="true"' in page
    assert not Case.objects.filter(order=order).exists()


def test_no_line_chosen_and_bad_input_re_render_with_errors_not_500(client, customer):
    order = factories.order_with_lines(customer=customer)
    line = order.lines.get()
    client.force_login(customer)
    assert _apply(client, order, option="return:no_reason").status_code == 400
    assert _apply(client, order, option="nonsense:x", **{f"quantity-{line.pk}": "1"}).status_code == 400
    assert _apply(client, order, option="return:no_reason", **{f"quantity-{line.pk}": "x"}).status_code == 400
    response = _apply(client, order, option="exchange:no_reason", **{f"quantity-{line.pk}": "1"}, exchange_sku="NOPE")
    assert response.status_code == 400 and "No product has this SKU." in response.content.decode()


def test_apply_page_of_another_customers_order_is_404(client, customer, other_customer):
    order = factories.order_with_lines(customer=other_customer)
    client.force_login(customer)
    assert client.get(reverse("returns:apply", args=[order.number])).status_code == 404
    assert _apply(client, order, option="return:no_reason").status_code == 404


def _approved_return(customer):
    """A cheap no-reason return: under the auto-approve limit, so it is awaiting the parcel at once."""
    order = factories.order_with_lines(customer=customer, lines=((Decimal("100.00"), 1),))
    case = services.submit_request(
        customer=customer,
        order=order,
        kind="return",
        reason="no_reason",
        lines=[{"line": order.lines.get(), "quantity": 1}],
        condition={"accessories_complete": True, "water_exposure": False},
    )
    case.refresh_from_db()
    assert case.status == "awaiting_parcel" and case.deadline_at is not None
    return case


def test_label_shows_the_rma_number_and_a_qr_code_to_the_customer_only(client, customer, other_customer, agent):
    case = _approved_return(customer)
    url = reverse("returns:label", args=[case.number])
    client.force_login(customer)
    case_page = client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    assert url in case_page and reverse("returns:tracking", args=[case.number]) in case_page
    response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert case.number in page and "<svg" in page and '<section class="label-sheet">' in page  # portal.css prints it
    assert case.order.lines.get().product_name in page
    assert "Return address: see the instructions from the shop." in page
    client.force_login(agent)
    assert client.get(url).status_code == 200
    client.force_login(other_customer)
    assert client.get(url).status_code == 404


def test_label_uses_the_configured_return_address(client, customer, settings):
    settings.SHOP_RETURN_ADDRESS = "Returns dept., 1 Warehouse Road"
    case = _approved_return(customer)
    client.force_login(customer)
    assert "1 Warehouse Road" in client.get(reverse("returns:label", args=[case.number])).content.decode()


def test_no_label_before_approval(client, customer):
    order = factories.order_with_lines(customer=customer)
    line = order.lines.get()
    client.force_login(customer)
    _apply(client, order, option="return:no_reason", **{f"quantity-{line.pk}": "1"}, condition=["accessories_complete"])
    case = Case.objects.get(order=order)
    assert case.status == "submitted"
    assert client.get(reverse("returns:label", args=[case.number])).status_code == 404


def test_R_RET_9_tracking_form_stores_the_parcel_and_clears_the_deadline(client, customer):
    case = _approved_return(customer)
    client.force_login(customer)
    url = reverse("returns:tracking", args=[case.number])
    response = client.post(url, {"carrier": "SF Express", "tracking_number": "SF123456789"})
    assert response.status_code == 302 and response.url == reverse("portal:case-detail", args=[case.number])
    request_row = ReturnRequest.objects.get(case=case)
    assert (request_row.carrier, request_row.tracking_number) == ("SF Express", "SF123456789")
    case.refresh_from_db()
    assert case.deadline_at is None
    page = client.get(response.url).content.decode()
    assert "the tracking number was saved" in page and "SF123456789" in page


def test_tracking_errors_are_shown_as_messages(client, customer, other_customer):
    case = _approved_return(customer)
    client.force_login(customer)
    url = reverse("returns:tracking", args=[case.number])
    response = client.post(url, {"carrier": "", "tracking_number": "X1"}, follow=True)
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    client.force_login(other_customer)
    assert client.post(url, {"carrier": "SF", "tracking_number": "X1"}).status_code == 404


# --- Exchanges, reports and the replacement on the portal ---------------------------------------------


def test_R_RET_8_an_appliance_quality_claim_asks_for_the_report_on_the_page(client, customer):
    from datetime import timedelta

    from django.utils import timezone

    category = factories.CategoryFactory(name="Appliances", quality_report_required=True)
    order = factories.order_with_lines(customer=customer)
    line = order.lines.get()
    line.product.category = category
    line.product.save()
    client.force_login(customer)
    page = client.get(reverse("returns:apply", args=[order.number])).content.decode()
    assert 'name="report"' in page and 'data-for="exchange:quality return:quality"' in page

    data = {"option": "return:quality", f"quantity-{line.pk}": "1"}
    missing = _apply(client, order, **data, photos=[_png()])
    assert missing.status_code == 400 and "inspection report" in missing.content.decode()
    valid_until = (timezone.localdate() + timedelta(days=5)).isoformat()
    response = _apply(client, order, **data, photos=[_png()], report=_png("report.png"), report_valid_until=valid_until)
    assert response.status_code == 302
    request_row = ReturnRequest.objects.get(case__order=order)
    assert request_row.report is not None and request_row.report_valid_until.isoformat() == valid_until


def test_R_RET_5_exchange_for_a_dearer_variant_shows_what_is_owed(client, customer, agent):
    order = factories.order_with_lines(customer=customer)
    line = order.lines.get()
    line.product.model_code = "P60"
    line.product.save()
    dearer = factories.ProductFactory(model_code="P60", price=Decimal("2199.00"), name="P60 512GB")
    factories.ProductFactory(model_code="TV55", name="Not a variant")
    client.force_login(customer)
    page = client.get(reverse("returns:apply", args=[order.number])).content.decode()
    assert f'<option value="{dearer.sku}">' in page and "Not a variant" not in page

    response = _apply(
        client, order, option="exchange:no_reason", **{f"quantity-{line.pk}": "1"}, exchange_sku=dearer.sku
    )
    assert response.status_code == 302
    case = Case.objects.get(order=order)
    page = client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    assert "Price difference you pay" in page and "200.00" in page and "not paid yet" in page


def test_the_customer_confirms_receipt_of_the_replacement_on_the_case_page(client, customer, agent):
    order = factories.order_with_lines(customer=customer, signed_for_at=None)
    case = services.submit_request(
        customer=customer,
        order=order,
        kind="reissue",
        reason="not_received",
        lines=[{"line": order.lines.get(), "quantity": 1}],
    )
    case = services.ship_replacement(
        case=services.approve(case=case, actor=agent), actor=agent, carrier="SF", tracking_number="SF42"
    )
    client.force_login(customer)
    page = client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    assert "SF42" in page and 'value="confirm_receipt"' in page
    response = client.post(
        reverse("portal:case-detail", args=[case.number]),
        {"action": "transition", "name": "confirm_receipt", "version": case.version},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "completed"
    assert "How did we do?" in client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
