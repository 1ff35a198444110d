"""Hostile uploads (issue 10): every upload entry point funnels photos through
`aftersales.cases.attachments.add_attachment` (portal and API case attachments, returns, warranty
claims and steps, tickets, e-mail intake), so the service is attacked with every input below and the
HTTP entry points with the ones that reach past it (request limits, filenames from multipart bodies).
Nothing but a re-encoded JPEG/PNG/WebP reaches storage, under our own name inside PRIVATE_MEDIA_ROOT,
and the download says exactly what it is."""

import io
import re
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from aftersales.cases.attachments import add_attachment
from aftersales.cases.models import Attachment
from aftersales.common.errors import ValidationFailed
from techsupport.kb import services as kb_services
from tests import factories

pytestmark = pytest.mark.django_db

STORED_NAME = re.compile(r"^cases/\d+/[A-Za-z0-9]{24}\.(jpg|png|webp)$")


def image_bytes(fmt="JPEG", size=(64, 48), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)}  # GPSInfo
    exif[0x010F] = "SecretCam"  # Make
    exif[0x9003] = "2026:11:24 10:00:00"  # DateTimeOriginal (in the Exif IFD on real cameras)
    return exif


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width=100_000, height=100_000) -> bytes:
    """A PNG declaring width×height 8-bit grey pixels whose (partial) data is a few KB of zlib zeros."""
    rows = zlib.compress(b"\x00" * 4_000_000, 9)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b"")


def jpeg_bomb(width=65_000, height=65_000) -> bytes:
    """A real small JPEG whose start-of-frame header is patched to claim a huge size."""
    data = bytearray(image_bytes("JPEG", size=(16, 16)))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def webp_bomb() -> bytes:
    """A lossy WebP whose VP8 frame header claims 16383×16383 (268 megapixels)."""
    data = bytearray(image_bytes("WEBP", size=(16, 16), quality=50))
    start = data.index(b"\x9d\x01\x2a")
    struct.pack_into("<HH", data, start + 3, 16383, 16383)
    return bytes(data)


POLYGLOT_HTML = b"<html><script>alert(document.cookie)</script></html>"
SVG_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect width="9" height="9"/></svg>'

# (file name, content, claimed content type): none of these is a photo we accept.
REFUSED = {
    "pdf-as-jpg": ("scan.jpg", b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "image/jpeg"),
    "html-as-jpg": ("page.jpg", POLYGLOT_HTML, "image/jpeg"),
    "html-as-png": ("page.png", b"<!doctype html><body onload=alert(1)>", "image/png"),
    "zip-as-jpg": ("archive.jpg", b"PK\x03\x04" + b"\x00" * 26 + b"evil.exe", "image/jpeg"),
    "exe-as-jpg": ("setup.jpg", b"MZ\x90\x00\x03" + b"\x00" * 59 + b"PE\x00\x00", "image/jpeg"),
    "elf-as-webp": ("a.webp", b"\x7fELF\x02\x01\x01" + b"\x00" * 57, "image/webp"),
    "php-as-jpg": ("shell.jpg", b"<?php system($_GET['c']); ?>", "image/jpeg"),
    "svg-script": ("vector.svg", SVG_SCRIPT, "image/svg+xml"),
    "svg-script-as-png": ("vector.png", SVG_SCRIPT, "image/png"),
    "svg-gzipped": ("vector.svgz", zlib.compress(SVG_SCRIPT), "image/svg+xml"),
    "gif": ("anim.jpg", image_bytes("GIF"), "image/jpeg"),
    "bmp": ("pic.jpg", image_bytes("BMP"), "image/jpeg"),
    "tiff": ("pic.jpg", image_bytes("TIFF"), "image/jpeg"),
    "ico": ("pic.png", image_bytes("ICO", size=(32, 32)), "image/png"),
    "jpeg-header-only": ("cut.jpg", image_bytes("JPEG")[:40], "image/jpeg"),
    "jpeg-truncated": ("cut.jpg", image_bytes("JPEG", size=(300, 300))[:-200], "image/jpeg"),
    "png-bad-crc": ("bad.png", image_bytes("PNG")[:-5] + b"\x00\x00\x00\x00\x00", "image/png"),
    "empty": ("empty.jpg", b"", "image/jpeg"),
    "png-bomb": ("bomb.png", png_bomb(), "image/png"),
    "png-bomb-wide": ("wide.png", png_bomb(width=2_000_000, height=30), "image/png"),
    "jpeg-bomb": ("bomb.jpg", jpeg_bomb(), "image/jpeg"),
    "webp-bomb": ("bomb.webp", webp_bomb(), "image/webp"),
}


@pytest.mark.parametrize("name, content, content_type", REFUSED.values(), ids=REFUSED.keys())
def test_anything_but_a_real_accepted_photo_is_refused_and_nothing_is_stored(customer, name, content, content_type):
    case = factories.open_case(customer=customer)
    with pytest.raises(ValidationFailed) as refused:
        add_attachment(case=case, uploaded_by=customer, upload=SimpleUploadedFile(name, content, content_type))
    assert "file" in refused.value.fields
    assert case.attachments.count() == 0
    folder = Path(Attachment.file.field.storage.location) / "cases" / str(case.pk)
    assert not folder.exists() or not any(folder.iterdir())


def test_the_bombs_are_small_files(monkeypatch):
    """The bombs above are real bombs: a few KB claiming hundreds of megapixels."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # only to read their headers here
    for content in (png_bomb(), png_bomb(width=2_000_000, height=30), jpeg_bomb(), webp_bomb()):
        assert len(content) < 20_000
        width, height = Image.open(io.BytesIO(content)).size
        assert width * height > 50_000_000


def test_a_real_photo_with_html_appended_is_stored_without_it(customer):
    """A JPEG/HTML polyglot is a valid JPEG: it gets in, re-encoded, and the HTML does not."""
    case = factories.open_case(customer=customer)
    upload = SimpleUploadedFile("poly.jpg", image_bytes("JPEG") + POLYGLOT_HTML, "image/jpeg")
    attachment = add_attachment(case=case, uploaded_by=customer, upload=upload)
    with attachment.file.open("rb") as stored:
        data = stored.read()
    assert b"<script" not in data and data[:2] == b"\xff\xd8"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_with_gps_is_stripped_from_the_stored_file(customer, fmt):
    case = factories.open_case(customer=customer)
    upload = SimpleUploadedFile(f"gps.{fmt.lower()}", image_bytes(fmt, exif=gps_exif()), f"image/{fmt.lower()}")
    assert Image.open(io.BytesIO(upload.read())).getexif().get(0x8825)  # the input really has GPS
    upload.seek(0)
    attachment = add_attachment(case=case, uploaded_by=customer, upload=upload)
    with attachment.file.open("rb") as stored:
        data = stored.read()
    image = Image.open(io.BytesIO(data))
    assert image.format == fmt
    assert not image.getexif()
    assert "exif" not in image.info
    assert b"SecretCam" not in data and b"Exif\x00\x00" not in data


NASTY_NAMES = [
    "../../etc/passwd.jpg",
    "../../../../../../tmp/owned.jpg",
    "/etc/passwd.jpg",
    "..\\..\\windows\\win.ini.jpg",
    "C:\\Windows\\System32\\evil.jpg",
    "photo\x00.php.jpg",
    "photo\x00",
    "x" * 1000 + ".jpg",
    "invoice\u202egpj.exe",
    "<script>alert(1)</script>.jpg",
    '"; filename="evil.html',
    "photo\r\nContent-Type: text/html.jpg",
    "%2e%2e%2f%2e%2e%2fpasswd.jpg",
    ".htaccess",
    "..",
    "CON.jpg",
    "照片\u200b.jpg",
    "",
]


@pytest.mark.parametrize("name", NASTY_NAMES)
def test_nasty_file_names_never_reach_the_file_system(customer, settings, name):
    """The service is called with the name as given (the e-mail intake passes the mail's own name)."""
    case = factories.open_case(customer=customer)
    upload = SimpleUploadedFile("x.jpg", image_bytes("JPEG"), "image/jpeg")
    upload._name = name  # past the name setter, which would clean some of it itself
    attachment = add_attachment(case=case, uploaded_by=customer, upload=upload)
    assert STORED_NAME.match(attachment.file.name), attachment.file.name
    root = Path(settings.PRIVATE_MEDIA_ROOT).resolve()
    stored = Path(attachment.file.path).resolve()
    assert stored.is_relative_to(root) and stored.is_file()
    original = attachment.original_name
    assert original and len(original) <= 200
    assert "/" not in original and "\\" not in original and original not in {".", ".."}
    assert all(ch.isprintable() for ch in original), repr(original)


def _download_is_safe(response, content_type="image/jpeg"):
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert re.fullmatch(r'(inline|attachment); filename="attachment-\d+"', response["Content-Disposition"])


@pytest.mark.parametrize("name", NASTY_NAMES[:14])
def test_portal_upload_with_a_nasty_name_is_stored_safely_and_downloads_safely(client, customer, settings, name):
    case = factories.open_case(customer=customer)
    client.force_login(customer)
    url = reverse("portal:case-attachment-upload", args=[case.number])
    response = client.post(url, {"file": SimpleUploadedFile(name or "x", image_bytes("PNG"), "image/png")})
    assert response.status_code == 302, response.content[:500]
    attachment = case.attachments.get()
    assert STORED_NAME.match(attachment.file.name)
    assert Path(attachment.file.path).resolve().is_relative_to(Path(settings.PRIVATE_MEDIA_ROOT).resolve())
    download = client.get(reverse("portal:attachment-download", args=[attachment.pk]))
    _download_is_safe(download, "image/png")
    assert b"".join(download.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
    page = client.get(reverse("portal:case-detail", args=[case.number])).content.decode()
    assert "<script>alert(1)</script>" not in page


@pytest.mark.parametrize("kind", ["pdf-as-jpg", "html-as-jpg", "svg-script", "png-bomb", "jpeg-bomb", "exe-as-jpg"])
def test_portal_and_api_refuse_bad_files_with_a_400(client, customer, kind):
    name, content, content_type = REFUSED[kind]
    case = factories.open_case(customer=customer)
    client.force_login(customer)
    portal = client.post(
        reverse("portal:case-attachment-upload", args=[case.number]),
        {"file": SimpleUploadedFile(name, content, content_type)},
    )
    assert portal.status_code == 400
    assert "Only photos are accepted" in portal.content.decode()
    api = APIClient()
    api.force_authenticate(customer)
    response = api.post(
        reverse("api-case-attachments", args=[case.number]),
        {"file": SimpleUploadedFile(name, content, content_type)},
        format="multipart",
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert "file" in response.json()["fields"]
    assert case.attachments.count() == 0


def test_oversized_file_is_a_clean_400_in_portal_and_api(client, customer, settings):
    settings.ATTACHMENT_MAX_BYTES = 50_000
    big = image_bytes("PNG", size=(400, 400), compress_level=0)  # ~480 KB of real PNG
    assert len(big) > settings.ATTACHMENT_MAX_BYTES
    case = factories.open_case(customer=customer)
    client.force_login(customer)
    portal = client.post(
        reverse("portal:case-attachment-upload", args=[case.number]),
        {"file": SimpleUploadedFile("big.png", big, "image/png")},
    )
    assert portal.status_code == 400 and "too large" in portal.content.decode()
    api = APIClient()
    api.force_authenticate(customer)
    response = api.post(
        reverse("api-case-attachments", args=[case.number]),
        {"file": SimpleUploadedFile("big.png", big, "image/png")},
        format="multipart",
    )
    assert response.status_code == 400 and "file" in response.json()["fields"]
    assert case.attachments.count() == 0


def test_a_request_body_over_the_upload_limits_is_a_clean_error_not_a_500(client, customer, settings):
    """Non-file fields past DATA_UPLOAD_MAX_MEMORY_SIZE, too many files (DATA_UPLOAD_MAX_NUMBER_FILES)
    and a body past the whole-request cap (REQUEST_MAX_BYTES) are refused before any view code runs."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    case = factories.open_case(customer=customer)
    client.force_login(customer)
    client.raise_request_exception = False
    url = reverse("portal:case-attachment-upload", args=[case.number])
    api_url = reverse("api-case-attachments", args=[case.number])
    api = APIClient()
    api.force_authenticate(customer)
    api.raise_request_exception = False

    # Fresh file objects per request: the test client reads them to the end.
    def big_field():
        return {"note": "a" * 20_000, "file": SimpleUploadedFile("a.png", image_bytes("PNG"), "image/png")}

    def many():
        return {"file": [SimpleUploadedFile(f"{i}.png", image_bytes("PNG"), "image/png") for i in range(5)]}

    def huge():
        return {"file": SimpleUploadedFile("huge.png", b"\x89PNG" + b"\x00" * 200_000, "image/png")}

    assert client.post(url, big_field()).status_code == 400
    assert api.post(api_url, big_field(), format="multipart").status_code == 400
    assert client.post(url, many()).status_code == 400
    assert api.post(api_url, many(), format="multipart").status_code == 400
    settings.REQUEST_MAX_BYTES = 100_000
    response = client.post(url, huge())
    assert response.status_code == 413 and "too large" in response.content.decode()
    response = api.post(api_url, huge(), format="multipart")
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert case.attachments.count() == 0


def test_a_json_body_over_the_memory_limit_is_a_413_not_parsed(customer, settings):
    """DRF reads JSON from the stream, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check on request.body."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    case = factories.open_case(customer=customer)
    api = APIClient()
    api.force_authenticate(customer)
    url = reverse("api-case-notes", args=[case.number])
    response = api.post(url, {"note": "a" * 20_000}, format="json")
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert api.post(url, {"note": "a" * 1_000}, format="json").status_code == 201
    assert case.events.filter(type="note").count() == 1


def test_refused_uploads_leave_no_files_behind(client, customer, settings):
    """After a string of refusals and one good upload, the private root holds exactly one file."""
    case = factories.open_case(customer=customer)
    client.force_login(customer)
    url = reverse("portal:case-attachment-upload", args=[case.number])
    for name, content, content_type in REFUSED.values():
        assert client.post(url, {"file": SimpleUploadedFile(name, content, content_type)}).status_code == 400
    assert client.post(url, {"file": SimpleUploadedFile("ok.jpg", image_bytes(), "image/jpeg")}).status_code == 302
    files = [p for p in Path(settings.PRIVATE_MEDIA_ROOT).rglob("*") if p.is_file()]
    assert [str(p.relative_to(settings.PRIVATE_MEDIA_ROOT)) for p in files] == [Attachment.objects.get().file.name]


def test_release_upload_names_stay_inside_private_storage(settings, supervisor):
    """Staff software releases take any file type, but a hostile name or version still lands under
    releases/<product>/<version>/ in private storage and downloads as an attachment with nosniff."""
    product = factories.ProductFactory()
    upload = SimpleUploadedFile("x", b"<html><script>alert(1)</script>", "text/html")
    upload._name = "../../../../etc/cron.d/owned"

    release = kb_services.add_release(
        product=product,
        version="1.0",
        notes="",
        uploaded_file=upload,
        released_at=timezone.now(),
        actor=None,
    )
    root = Path(settings.PRIVATE_MEDIA_ROOT).resolve()
    assert Path(release.file.path).resolve().is_relative_to(root / "releases")
    with pytest.raises(ValidationFailed):
        kb_services.add_release(
            product=product,
            version="../../x",
            notes="",
            uploaded_file=SimpleUploadedFile("a.bin", b"1"),
            released_at=timezone.now(),
            actor=None,
        )
    response = Client().get(reverse("kb:release-file", args=[release.pk]))
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "/" not in response["Content-Disposition"]


@pytest.mark.parametrize("kind", ["html-as-jpg", "svg-script", "png-bomb", "webp-bomb", "zip-as-jpg"])
def test_a_ticket_message_with_a_hostile_photo_is_refused_whole(client, customer, agent, kind):
    """Several photos at once (tickets, returns, warranty claims) go through `add_attachments`: one
    bad file refuses the message, and the good photo sent with it is not left behind on disk."""
    from techsupport.models import Team
    from techsupport.services import tickets

    Team.objects.create(code="first-line", name="First line", tier=1).members.add(agent)
    Team.objects.create(code="technical", name="Technical support", tier=2)
    case = tickets.open_ticket(customer=customer, actor=customer, subject="Help", body="It fails.", category="usage")
    events = case.events.count()
    client.force_login(customer)
    name, content, content_type = REFUSED[kind]
    good = SimpleUploadedFile("good.jpg", image_bytes(), "image/jpeg")
    response = client.post(
        reverse("support:reply", args=[case.number]),
        {"body": "See the photos", "photos": [good, SimpleUploadedFile(name, content, content_type)]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Only photos are accepted" in response.content.decode()
    assert case.events.count() == events and case.attachments.count() == 0
    assert not [p for p in Path(Attachment.file.field.storage.location).rglob("*") if p.is_file()]
