"""The return label as a PDF (R-RET-9): which cases have one, the portal's label.pdf and the API's
label action. The PDFs are read back with a few lines of standard library, not a PDF library."""

import base64
import re
import zlib
from decimal import Decimal

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from aftersales.cases.models import Case, CaseKind
from aftersales.orders.models import OrderLine
from returns import labels, selectors, services, workflow
from tests import factories

pytestmark = pytest.mark.django_db
RESALEABLE = {"accessories_complete": True, "water_exposure": False}
ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(string: bytes) -> str:
    octal_or_char = re.compile(rb"\\([0-7]{1,3}|.)", re.S)
    raw = octal_or_char.sub(lambda m: bytes([int(m[1], 8)]) if m[1].isdigit() else ESCAPES.get(m[1], m[1]), string)
    return raw.decode("utf-16-be")


def page_texts(pdf: bytes) -> list[str]:
    """The text drawn on each page, a line per line. reportlab writes one content stream per page
    (ASCII85, then Flate); with the CID font every string is UTF-16, octal-escaped, in `(...) Tj`;
    `T*` starts a new line of a paragraph and `ET` ends a text object."""
    pages = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        content = zlib.decompress(base64.a85decode(raw.strip(), adobe=True))
        pieces = re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj|(T\*|\bET\b)", content, re.S)
        pages.append("".join("\n" if move else _unescape(string) for string, move in pieces))
    return pages


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


def approved_return(customer, *, names=("Phone case",), kind="return"):
    """An approved no-reason request, awaiting the customer's parcel."""
    order = factories.order_with_lines(customer=customer, lines=tuple((Decimal("50.00"), 1) for _ in names))
    for line, name in zip(order.lines.order_by("line_no"), names, strict=True):
        OrderLine.objects.filter(pk=line.pk).update(product_name=name)
    lines = [{"line": line, "quantity": 1} for line in order.lines.order_by("line_no")]
    case = services.submit_request(
        customer=customer,
        order=order,
        kind=kind,
        reason="no_reason",
        lines=lines,
        condition=RESALEABLE,
        exchange_product=order.lines.first().product if kind == "exchange" else None,
    )
    case.refresh_from_db()
    if case.status == "submitted":  # over the auto-approve limit: an agent approves
        case = services.approve(case=case, actor=factories.StaffFactory(role="agent"))
    assert case.status == "awaiting_parcel"
    return case


def submitted_return(customer):
    """Above the auto-approve limit: waits for an agent in `submitted`."""
    order = factories.order_with_lines(customer=customer, lines=((Decimal("1999.00"), 1),))
    case = services.submit_request(
        customer=customer,
        order=order,
        kind="return",
        reason="no_reason",
        lines=[{"line": order.lines.get(), "quantity": 1}],
        condition=RESALEABLE,
    )
    assert case.status == "submitted"
    return case


# --- Which cases have a label ----------------------------------------------------------------------


def test_every_return_status_is_decided_for_the_label():
    """R-RET-9: "awaiting_parcel" onward has a label. A status added to the workflow must be put in
    labels.LABEL_STATUSES or in this test's list of statuses without one."""
    no_label = {"submitted", "reissue_approved", "rejected", "cancelled", "expired"}
    assert labels.LABEL_STATUSES | no_label == set(workflow.STATUSES)
    assert not labels.LABEL_STATUSES & no_label


@pytest.mark.parametrize(
    ("kind", "status", "available"),
    [
        (CaseKind.RETURN, "awaiting_parcel", True),
        (CaseKind.EXCHANGE, "received", True),
        (CaseKind.RETURN, "completed", True),
        (CaseKind.RETURN, "submitted", False),
        (CaseKind.EXCHANGE, "cancelled", False),
        (CaseKind.REISSUE, "awaiting_parcel", False),
        (CaseKind.REFUND_ONLY, "awaiting_parcel", False),
    ],
)
def test_label_available_for_goods_travelling_back_once_approved(kind, status, available):
    assert labels.label_available(Case(kind=kind, status=status)) is available


# --- The PDF itself --------------------------------------------------------------------------------


def test_pdf_carries_the_rma_number_address_sender_and_items(customer, settings):
    settings.SHOP_NAME = "Acme Store"
    settings.SHOP_RETURN_ADDRESS = "Returns dept.\n1 Warehouse Road\nShanghai"
    case = approved_return(customer, names=("Phone case", "Cable <b> & charger"))
    request = case.return_request
    pdf = labels.render_label_pdf(case=case, return_request=request, lines=selectors.label_lines(request))
    assert pdf.startswith(b"%PDF-") and page_count(pdf) == 1
    (text,) = page_texts(pdf)
    for expected in (
        "Acme Store",
        "Return label",
        case.number,
        "Returns dept.",
        "1 Warehouse Road",
        customer.email,
        case.order.number,
        "Phone case",
        "Cable <b> & charger",  # markup characters print as typed
        "Put this label inside or on the parcel so we can match it to your request.",
    ):
        assert expected in text, expected
    for line in request.lines.all():
        assert line.order_line.product.sku in text


def test_pdf_in_chinese_with_chinese_names_and_address(customer, settings):
    settings.SHOP_NAME = "演示商城"
    settings.SHOP_RETURN_ADDRESS = "上海市浦东新区张江路 88 号\n售后退货部"
    customer.full_name = "张伟"
    customer.save(update_fields=["full_name"])
    case = approved_return(customer, names=("华为 Mate 60 Pro 手机 12GB+512GB 雅川青", "无线蓝牙耳机（白色）"))
    request = case.return_request
    with translation.override("zh-hans"):
        pdf = labels.render_label_pdf(case=case, return_request=request, lines=selectors.label_lines(request))
    (text,) = page_texts(pdf)
    for expected in ("演示商城", "退货标签", "寄往", "张江路", "张伟", "雅川青", "无线蓝牙耳机（白色）", case.number):
        assert expected in text, expected


def test_a_long_item_list_continues_on_pages_footed_with_the_rma_number(customer):
    case = approved_return(customer, names=[f"Accessory {n}" for n in range(30)])
    request = case.return_request
    pdf = labels.render_label_pdf(case=case, return_request=request, lines=selectors.label_lines(request))
    pages = page_texts(pdf)
    assert page_count(pdf) == len(pages) > 1
    assert all(case.number in page for page in pages)
    assert "Accessory 0\n" in pages[0] and "Accessory 29\n" not in pages[0]
    assert "Accessory 29\n" in "".join(pages[1:])


# --- Portal ----------------------------------------------------------------------------------------


def test_portal_pdf_for_the_customer_and_staff_only(client, customer, other_customer, agent):
    case = approved_return(customer)
    url = reverse("returns:label-pdf", args=[case.number])
    assert url == f"/cases/{case.number}/label.pdf"
    client.force_login(customer)
    assert url in client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    assert url in client.get(reverse("returns:label", args=[case.number])).content.decode()
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{case.number}.pdf"'
    assert response.content.startswith(b"%PDF-") and case.number in page_texts(response.content)[0]
    client.force_login(agent)
    assert client.get(url).status_code == 200
    client.force_login(other_customer)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_portal_pdf_follows_the_chosen_language(client, customer):
    case = approved_return(customer, names=("无线蓝牙耳机",))
    client.force_login(customer)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    response = client.get(reverse("returns:label-pdf", args=[case.number]))
    assert response.status_code == 200
    text = page_texts(response.content)[0]
    assert "退货标签" in text and "无线蓝牙耳机" in text


def test_portal_no_pdf_before_approval_nor_for_a_missing_case(client, customer):
    case = submitted_return(customer)
    client.force_login(customer)
    assert client.get(reverse("returns:label-pdf", args=[case.number])).status_code == 404
    assert client.get(reverse("returns:label-pdf", args=["RMA-NOPE"])).status_code == 404


# --- API -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", [None, "application/pdf", "*/*", "application/json"])
def test_api_label_is_the_pdf_whatever_the_client_accepts(customer, accept):
    case = approved_return(customer)
    api = APIClient()
    api.force_authenticate(customer)
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = api.get(reverse("api-return-label", args=[case.number]), **headers)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{case.number}.pdf"'
    assert response.content.startswith(b"%PDF-") and case.number in page_texts(response.content)[0]


def test_api_exchange_label_for_staff(customer, agent):
    case = approved_return(customer, kind="exchange")
    api = APIClient()
    api.force_authenticate(agent)
    response = api.get(reverse("api-return-label", args=[case.number]), HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")


@pytest.mark.parametrize("accept", ["application/pdf", "application/json"])
def test_api_another_customers_label_is_a_json_404(customer, other_customer, accept):
    case = approved_return(customer)
    api = APIClient()
    api.force_authenticate(other_customer)
    response = api.get(reverse("api-return-label", args=[case.number]), HTTP_ACCEPT=accept)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_api_no_label_before_approval_is_a_json_404(customer):
    case = submitted_return(customer)
    api = APIClient()
    api.force_authenticate(customer)
    response = api.get(reverse("api-return-label", args=[case.number]), HTTP_ACCEPT="application/pdf")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_api_anonymous_is_401(customer):
    case = approved_return(customer)
    response = APIClient().get(reverse("api-return-label", args=[case.number]), HTTP_ACCEPT="application/pdf")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_api_schema_documents_the_label_as_a_pdf(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    operation = yaml.safe_load(out.read_text())["paths"]["/api/v1/returns/{number}/label/"]["get"]
    assert operation["responses"]["200"]["content"] == {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}}
    }
