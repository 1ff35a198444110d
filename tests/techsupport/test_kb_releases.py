"""Software/firmware releases (R-SUP-5): the file is stored in private storage while its size and
SHA-256 are computed, read chunk by chunk and never whole; a version is published once per product;
the download streams the file, counts it, and is a 404 for an unpublished or unknown release."""

import hashlib
import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from aftersales.common.errors import NotAllowed, ValidationFailed
from techsupport.kb import selectors, services
from techsupport.models import Release
from tests import factories

pytestmark = pytest.mark.django_db


class ChunksOnly(ContentFile):
    """An upload that refuses to be read whole: `read()` without a size fails the test."""

    def __init__(self, content, name):
        super().__init__(content, name=name)
        self.reads = 0

    def read(self, *args):
        assert args and args[0] and args[0] > 0, "the whole file was read at once"
        self.reads += 1
        return super().read(*args)


def stored_files() -> list[str]:
    root = settings.PRIVATE_MEDIA_ROOT
    return [os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files] if os.path.isdir(root) else []


def test_size_and_sha256_are_computed_while_streaming_into_private_storage():
    data = os.urandom(300 * 1024)  # several chunks
    upload = ChunksOnly(data, "watch-5.0.0.bin")
    product = factories.ProductFactory()
    release = services.add_release(
        product=product,
        version=" 5.0.0.120 ",
        notes="  Fixes.  ",
        uploaded_file=upload,
        released_at=timezone.now(),
        actor=None,
    )
    release.refresh_from_db()
    assert (release.version, release.notes) == ("5.0.0.120", "Fixes.")
    assert release.size == len(data)
    assert release.sha256 == hashlib.sha256(data).hexdigest()
    assert upload.reads >= 4
    assert release.file.name == f"releases/{product.pk}/5.0.0.120/watch-5.0.0.bin"
    path = release.file.path
    assert path.startswith(str(settings.PRIVATE_MEDIA_ROOT))
    with open(path, "rb") as stored:
        assert stored.read() == data


def test_a_temporary_upload_is_hashed_too(settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    data = b"x" * 10_000
    release = services.add_release(
        product=factories.ProductFactory(),
        version="1.0",
        notes="",
        uploaded_file=SimpleUploadedFile("fw.bin", data),
        released_at=timezone.now(),
        actor=None,
    )
    assert (release.size, release.sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_a_version_is_published_once_per_product_and_the_refused_file_is_not_kept():
    product = factories.ProductFactory()
    factories.release(product=product, version="2.0")
    before = stored_files()
    with pytest.raises(ValidationFailed) as refused:
        factories.release(product=product, version="2.0", content=b"another image")
    assert list(refused.value.fields) == ["version"]
    assert stored_files() == before
    factories.release(product=factories.ProductFactory(), version="2.0")  # another product may
    assert Release.objects.filter(version="2.0").count() == 2


@pytest.mark.parametrize("version", ["", "  ", "../../etc", "1/2", "v 1", "x" * 33, "-1"])
def test_versions_that_could_not_name_a_folder_are_refused(version):
    with pytest.raises(ValidationFailed) as refused:
        factories.release(version=version)
    assert "version" in refused.value.fields
    assert not Release.objects.exists() and stored_files() == []


def test_an_empty_file_is_refused_and_nothing_is_kept():
    with pytest.raises(ValidationFailed) as refused:
        factories.release(content=b"")
    assert "file" in refused.value.fields
    assert not Release.objects.exists() and stored_files() == []


def test_only_staff_who_may_add_releases_upload_them(agent, supervisor):
    with pytest.raises(NotAllowed):
        factories.release(actor=agent)
    assert factories.release(actor=supervisor).pk


def test_releases_of_a_product_are_the_published_ones_newest_first():
    product = factories.ProductFactory()
    now = timezone.now()
    old = factories.release(product=product, version="1.0", released_at=now - timedelta(days=60))
    new = factories.release(product=product, version="1.1", released_at=now - timedelta(days=1))
    factories.release(product=product, version="1.2-beta", published=False)
    factories.release(version="9.9")  # another product's
    assert list(selectors.releases_for(product)) == [new, old]


def test_the_download_streams_the_file_as_an_attachment_and_counts_it(client):
    data = os.urandom(5000)
    release = factories.release(content=data, name="tv-6.7.1.pkg")
    response = client.get(reverse("kb:release-file", args=[release.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Disposition"] == 'attachment; filename="tv-6.7.1.pkg"'
    assert response["Content-Length"] == str(len(data))
    assert reverse("kb:release-file", args=[release.pk]) == f"/support/downloads/release/{release.pk}/file"
    client.get(reverse("kb:release-file", args=[release.pk]))
    release.refresh_from_db()
    assert release.downloads == 2


def test_an_unpublished_unknown_or_missing_release_is_a_404(client):
    hidden = factories.release(published=False)
    lost = factories.release(version="3.0")
    os.remove(lost.file.path)
    for pk in (hidden.pk, lost.pk, 999999):
        assert client.get(reverse("kb:release-file", args=[pk])).status_code == 404
    hidden.refresh_from_db()
    lost.refresh_from_db()
    assert hidden.downloads == lost.downloads == 0
