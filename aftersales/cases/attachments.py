"""Case attachments: only real images get in, and they are re-encoded (which drops EXIF such as GPS
and anything smuggled after the image data) before they touch storage."""

import hashlib
import io
import warnings

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from aftersales.common.errors import NotAllowed, ValidationFailed
from aftersales.common.locks import lock_one

from .models import Attachment, Case, CaseEvent
from .selectors import user_can_see_case

ACCEPTED_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}


def _reencode(upload) -> tuple[bytes, str, str, int, int]:
    """Verify and re-encode one upload; returns (bytes, extension, content type, width, height)."""
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationFailed(
            _("The file is too large (%(size)s); the limit is %(limit)s.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES)},
            fields={"file": [_("File too large.")]},
        )
    not_image = ValidationFailed(
        _("Only photos are accepted (JPEG, PNG or WebP)."), fields={"file": [_("Not a JPEG, PNG or WebP image.")]}
    )
    data = upload.read()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in ACCEPTED_FORMATS:
                raise not_image
            if probe.width * probe.height > settings.ATTACHMENT_MAX_PIXELS:
                raise ValidationFailed(
                    _("The image has too many pixels."), fields={"file": [_("Image dimensions too large.")]}
                )
            probe.verify()  # structural check; the image must be reopened afterwards
            image = Image.open(io.BytesIO(data))
            image.load()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise not_image from None
    extension, content_type = ACCEPTED_FORMATS[image.format]
    image = ImageOps.exif_transpose(image)  # keep the photo upright once EXIF is gone
    out = io.BytesIO()
    if extension == "jpg":
        image.convert("RGB").save(out, format="JPEG", quality=88, optimize=True)
    elif extension == "png":
        image.save(out, format="PNG", optimize=True)
    else:
        image.save(out, format="WEBP", quality=88)
    return out.getvalue(), extension, content_type, image.width, image.height


def display_name(name) -> str:
    """The uploader's file name, kept only to show: its last path component (either slash), without
    control or format characters (NUL, CR/LF, right-to-left overrides: "invoice\u202egpj.exe" would
    show as "invoiceexe.jpg"), at most 200 characters; "" if nothing usable is left. Django cleans
    multipart names the same way, but e-mail intake and other callers hand us names as they came."""
    name = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return "" if name in {".", ".."} else name[:200]


def may_attach(user, case: Case) -> bool:
    """The case's customer, or staff with `cases.add_attachment`: reading a case (finance does) is not
    enough to add files to it."""
    if user.is_authenticated and user.pk == case.customer_id:
        return True
    return user_can_see_case(user, case) and user.has_perm("cases.add_attachment")


@transaction.atomic
def add_attachment(*, case: Case, uploaded_by, upload) -> Attachment:
    if not may_attach(uploaded_by, case):
        raise NotAllowed()
    lock_one(Case, case.pk)  # serialises the count check per case
    if case.attachments.count() >= settings.ATTACHMENT_MAX_PER_CASE:
        raise ValidationFailed(
            _("A case can hold at most %(n)d attachments.") % {"n": settings.ATTACHMENT_MAX_PER_CASE},
            fields={"file": [_("Too many attachments.")]},
        )
    data, extension, content_type, width, height = _reencode(upload)
    original_name = display_name(upload.name) or f"photo.{extension}"
    attachment = Attachment(
        case=case,
        original_name=original_name,
        content_type=content_type,
        size=len(data),
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=uploaded_by,
    )
    # Our own name on disk: nothing the uploader typed reaches the file system.
    attachment.file.save(f"{get_random_string(24)}.{extension}", ContentFile(data), save=False)
    try:
        attachment.save()
        CaseEvent.objects.create(
            case=case,
            at=timezone.now(),
            type=CaseEvent.Type.ATTACHMENT,
            actor=uploaded_by,
            note=original_name,
            data={"attachment_id": attachment.pk},
        )
    except Exception:
        attachment.file.delete(save=False)
        raise
    return attachment


@transaction.atomic
def share_attachments(*, source: Case, target: Case, actor=None) -> list[Attachment]:
    """`source`'s attachments on `target` too, for a case that carries another on (a warranty claim
    handed over to a replacement or a refund): new rows naming the same stored files, which are never
    copied (nothing deletes a stored file with its row), each with a timeline event on `target` naming
    the case it came from. The uploader stays the original one; `actor` (None: the system) shares.
    At most the per-case limit; returns the new rows."""
    lock_one(Case, target.pk)  # serialises the count check per case, as `add_attachment` does
    room = max(settings.ATTACHMENT_MAX_PER_CASE - target.attachments.count(), 0)
    shared = []
    for original in source.attachments.order_by("uploaded_at", "id")[:room]:
        attachment = Attachment.objects.create(
            case=target,
            file=original.file.name,
            original_name=original.original_name,
            content_type=original.content_type,
            size=original.size,
            width=original.width,
            height=original.height,
            sha256=original.sha256,
            uploaded_by_id=original.uploaded_by_id,
        )
        CaseEvent.objects.create(
            case=target,
            at=timezone.now(),
            type=CaseEvent.Type.ATTACHMENT,
            actor=actor,
            note=original.original_name,
            data={"attachment_id": attachment.pk, "from_case": source.number},
        )
        shared.append(attachment)
    return shared


def add_attachments(*, case: Case, uploaded_by, uploads, field: str = "photos") -> list[Attachment]:
    """Several uploads at once: a refused one is a field error keyed `<field>.<index>`, and the files
    of the ones stored before it are removed with the rows the caller's transaction rolls back."""
    stored = []
    try:
        for index, upload in enumerate(uploads):
            try:
                stored.append(add_attachment(case=case, uploaded_by=uploaded_by, upload=upload))
            except ValidationFailed as exc:
                raise ValidationFailed(
                    exc.message, fields={f"{field}.{index}": [m for msgs in exc.fields.values() for m in msgs]}
                ) from None
    except Exception:
        for attachment in stored:
            attachment.file.delete(save=False)
        raise
    return stored
