"""The return label (R-RET-9): which cases may have one, and the label as an A6 PDF.

The PDF is drawn with reportlab. Every piece of text uses the built-in CID font STSong-Light, so
Chinese product names and addresses print as well as English, with no font file to ship; the
captions are translated in the active language."""

import io
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils.translation import gettext as _
from reportlab.graphics.barcode.code128 import Code128
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A6
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import HRFlowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from aftersales.cases.models import CaseKind

# The label is for goods travelling back to the shop.
LABEL_KINDS = frozenset({CaseKind.RETURN, CaseKind.EXCHANGE})
# "awaiting_parcel" onward: once approved, the label stays available for every later step of the
# parcel's journey. A new step after approval belongs here too (tests/returns/test_label.py lists the
# statuses that never have a label, and fails when a new status is in neither set).
LABEL_STATUSES = frozenset(
    {
        "awaiting_parcel",
        "received",
        "inspection_passed",
        "inspection_failed",
        "refund_pending",
        "refund_refused",
        "replacement_shipped",
        "sent_back",
        "completed",
    }
)

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

MARGIN = 6 * mm
QR_SIZE = 25 * mm


def label_available(case) -> bool:
    return case.kind in LABEL_KINDS and case.status in LABEL_STATUSES


def _style(name, size, **extra) -> ParagraphStyle:
    # splitLongWords (the default) breaks a long run without spaces, as Chinese text is, where it must.
    return ParagraphStyle(name, fontName=FONT, fontSize=size, leading=size * 1.25, **extra)


CAPTION = _style("caption", 7, textColor=colors.HexColor("#555555"), spaceBefore=2 * mm)
BODY = _style("body", 8.5)
ADDRESS = _style("address", 10)
SMALL = _style("small", 7)
SHOP = _style("shop", 12)
TITLE = _style("title", 9)
RMA = _style("rma", 17, spaceBefore=3 * mm)


def _text(value, style) -> Paragraph:
    """A paragraph of plain text: markup characters in names and addresses are escaped, newlines kept."""
    return Paragraph("<br/>".join(escape(line) for line in str(value).splitlines()) or "&nbsp;", style)


def _qr(value) -> Drawing:
    widget = QrCodeWidget(value, barLevel="M")
    x1, y1, x2, y2 = widget.getBounds()
    drawing = Drawing(QR_SIZE, QR_SIZE, transform=[QR_SIZE / (x2 - x1), 0, 0, QR_SIZE / (y2 - y1), 0, 0])
    drawing.add(widget)
    return drawing


def _barcode(value, width) -> Code128:
    """Code 128 with its quiet zones, 0.33 mm a bar; narrower only if the number would not fit."""
    barcode = Code128(value, barHeight=10 * mm, barWidth=0.33 * mm)
    barcode.wrap(width, 0)
    if barcode.width > width:
        barcode = Code128(value, barHeight=10 * mm, barWidth=0.33 * mm * width / barcode.width)
    barcode.hAlign = "CENTER"
    return barcode


def _header(case, width) -> Table:
    title = [
        _text(settings.SHOP_NAME, SHOP),
        Spacer(0, 1 * mm),
        _text(_("Return label"), TITLE),
        _text(case.number, RMA),
    ]
    table = Table([[title, _qr(case.number)]], colWidths=[width - QR_SIZE, QR_SIZE])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("PADDING", (0, 0), (-1, -1), 0)]))
    return table


def _items(lines, width) -> Table:
    rows = [[_text(_("Item"), CAPTION), _text(_("SKU"), CAPTION), _text(_("Quantity"), CAPTION)]]
    for line in lines:
        rows.append(
            [
                _text(line.order_line.product_name, BODY),
                _text(line.order_line.product.sku, BODY),
                _text(f"× {line.quantity}", BODY),
            ]
        )
    table = Table(rows, colWidths=[width * 0.56, width * 0.27, width * 0.17], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("PADDING", (0, 0), (-1, -1), 1.5),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.grey),
            ]
        )
    )
    return table


def render_label_pdf(*, case, return_request, lines) -> bytes:
    """An A6 return label: shop name, the RMA number large, as a QR code and as a Code 128 barcode,
    the return address, the sender, the items and what to do with the label. Long item lists
    continue on further pages, each footed with the RMA number."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A6,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 3 * mm,
        title=f"{_('Return label')} {case.number}",
        author=settings.SHOP_NAME,
    )
    width = doc.width
    customer = case.customer
    sender = customer.full_name + "\n" + customer.email if customer.full_name else customer.email
    if case.order_id:
        sender += "\n" + _("Order %(number)s") % {"number": case.order.number}
    story = [
        _header(case, width),
        Spacer(0, 2 * mm),
        _barcode(case.number, width),
        Spacer(0, 1 * mm),
        HRFlowable(width="100%", thickness=0.8, color=colors.black),
        _text(_("Send to"), CAPTION),
        _text(settings.SHOP_RETURN_ADDRESS or _("Return address: see the instructions from the shop."), ADDRESS),
        _text(_("From"), CAPTION),
        _text(sender, BODY),
        Spacer(0, 2 * mm),
        _items(lines, width),
        Spacer(0, 2 * mm),
        _text(_("Put this label inside or on the parcel so we can match it to your request."), SMALL),
        _text(return_request.get_return_shipping_paid_by_display(), SMALL),
    ]

    def footer(canvas, doc_):
        canvas.saveState()
        canvas.setFont(FONT, 6.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawCentredString(A6[0] / 2, MARGIN, f"{case.number} ({doc_.page})")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
