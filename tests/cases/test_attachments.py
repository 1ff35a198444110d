"""Attachments: images verified and re-encoded, limits enforced, private files served to owners."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from aftersales.cases.attachments import add_attachment, share_attachments
from aftersales.common.errors import NotAllowed, ValidationFailed
from tests import factories

pytestmark = pytest.mark.django_db


def photo(name="photo.jpg", fmt="JPEG", size=(64, 48), exif_gps=False) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (200, 30, 30))
    kwargs = {}
    if exif_gps:
        exif = Image.Exif()
        exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}  # GPSInfo
        exif[0x010F] = "SecretCam"  # Make
        kwargs["exif"] = exif
    image.save(buffer, format=fmt, **kwargs)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def test_a_photo_is_stored_re_encoded_without_exif(customer):
    case = factories.open_case(customer=customer)
    attachment = add_attachment(case=case, uploaded_by=customer, upload=photo(exif_gps=True))
    with attachment.file.open("rb") as stored:
        image = Image.open(io.BytesIO(stored.read()))
        assert image.format == "JPEG" and image.size == (64, 48)
        assert not image.getexif()
    assert attachment.original_name == "photo.jpg"
    assert not attachment.file.name.endswith("photo.jpg")  # our own name on disk
    assert case.events.filter(type="attachment").exists()


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("evil.jpg", b"<?php echo 1; ?>", content_type="image/jpeg"),
        SimpleUploadedFile("page.png", b"<svg onload=alert(1)></svg>", content_type="image/png"),
        SimpleUploadedFile("doc.pdf", b"%PDF-1.4 nothing", content_type="application/pdf"),
    ],
)
def test_anything_but_a_real_image_is_refused(customer, upload):
    case = factories.open_case(customer=customer)
    with pytest.raises(ValidationFailed) as refused:
        add_attachment(case=case, uploaded_by=customer, upload=upload)
    assert "file" in refused.value.fields
    assert case.attachments.count() == 0


def test_gif_is_refused_as_not_an_accepted_format(customer):
    case = factories.open_case(customer=customer)
    with pytest.raises(ValidationFailed):
        add_attachment(case=case, uploaded_by=customer, upload=photo("a.gif", fmt="GIF"))


def test_size_pixel_and_count_limits(customer, settings):
    case = factories.open_case(customer=customer)
    settings.ATTACHMENT_MAX_BYTES = 100
    with pytest.raises(ValidationFailed):
        add_attachment(case=case, uploaded_by=customer, upload=photo())
    settings.ATTACHMENT_MAX_BYTES = 10_000_000
    settings.ATTACHMENT_MAX_PIXELS = 1000
    with pytest.raises(ValidationFailed):
        add_attachment(case=case, uploaded_by=customer, upload=photo(size=(100, 100)))
    settings.ATTACHMENT_MAX_PIXELS = 40_000_000
    settings.ATTACHMENT_MAX_PER_CASE = 2
    add_attachment(case=case, uploaded_by=customer, upload=photo())
    add_attachment(case=case, uploaded_by=customer, upload=photo())
    with pytest.raises(ValidationFailed):
        add_attachment(case=case, uploaded_by=customer, upload=photo())
    assert case.attachments.count() == 2


def test_another_customer_cannot_attach_or_download(client, customer, other_customer, agent):
    case = factories.open_case(customer=customer)
    with pytest.raises(NotAllowed):
        add_attachment(case=case, uploaded_by=other_customer, upload=photo())
    attachment = add_attachment(case=case, uploaded_by=customer, upload=photo())
    url = reverse("portal:attachment-download", args=[attachment.pk])
    client.force_login(other_customer)
    assert client.get(url).status_code == 404
    client.force_login(customer)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    client.force_login(agent)
    assert client.get(url).status_code == 200
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_portal_upload_shows_a_form_error_for_a_bad_file(client, customer):
    case = factories.open_case(customer=customer)
    client.force_login(customer)
    url = reverse("portal:case-attachment-upload", args=[case.number])
    response = client.post(url, {"file": SimpleUploadedFile("x.jpg", b"not an image")})
    assert response.status_code == 400
    assert "Only photos are accepted" in response.content.decode()
    response = client.post(url, {"file": photo()})
    assert response.status_code == 302 and case.attachments.count() == 1


def test_R_WAR_5_shared_attachments_name_the_same_files_within_the_per_case_limit(customer, settings):
    """A case that carries another on (a warranty hand-over) shares its attachments: new rows, the
    same stored files, never more than the per-case limit."""
    source, target = factories.open_case(customer=customer), factories.open_case(customer=customer)
    originals = [add_attachment(case=source, uploaded_by=customer, upload=photo(f"{n}.jpg")) for n in range(3)]
    add_attachment(case=target, uploaded_by=customer, upload=photo("own.jpg"))
    settings.ATTACHMENT_MAX_PER_CASE = 3
    shared = share_attachments(source=source, target=target)
    assert [a.file.name for a in shared] == [a.file.name for a in originals[:2]]
    assert target.attachments.count() == 3 and source.attachments.count() == 3
    assert shared[0].file.open("rb").read() == originals[0].file.open("rb").read()
    assert target.events.filter(type="attachment", data__from_case=source.number).count() == 2


def test_staff_who_read_cases_without_add_attachment_cannot_add_files(customer, agent):
    """Finance reads every case (to check a refund) but has no `cases.add_attachment`: reading is not
    adding. The authorization matrix (tests/security) found finance could upload to any case."""
    case = factories.open_case(customer=customer)
    finance = factories.StaffFactory(role="finance")
    with pytest.raises(NotAllowed):
        add_attachment(case=case, uploaded_by=finance, upload=photo())
    assert add_attachment(case=case, uploaded_by=agent, upload=photo()).uploaded_by == agent
    assert case.attachments.count() == 1
