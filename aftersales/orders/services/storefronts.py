"""Registering storefronts: only a token's SHA-256 is kept; the plaintext is shown once.

A storefront's webhook signing secret is the exception: signing needs the plaintext, so it is stored,
yet it is still shown once (when generated or rotated) and never displayed again."""

import secrets

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.common.errors import ValidationFailed
from aftersales.common.locks import lock_one

from ..authentication import hash_token
from ..models import Storefront

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, so a leaked secret is recognisable)


@transaction.atomic
def create_storefront(*, name: str, token: str | None = None) -> tuple[Storefront, str]:
    """A new storefront and its plaintext token, which is shown once and never stored."""
    name = name.strip()
    if not name:
        raise ValidationFailed(fields={"name": [_("A storefront needs a name.")]})
    if Storefront.objects.filter(name=name).exists():
        raise ValidationFailed(fields={"name": [_("A storefront with this name already exists.")]})
    token = token or secrets.token_urlsafe(32)
    if Storefront.objects.filter(token_sha256=hash_token(token)).exists():
        raise ValidationFailed(fields={"token": [_("This token is already in use.")]})
    storefront = Storefront.objects.create(name=name, token_sha256=hash_token(token), token_hint=token[:8])
    return storefront, token


@transaction.atomic
def rotate_webhook_secret(*, storefront: Storefront) -> tuple[Storefront, str]:
    """A new signing secret for the storefront's webhooks, returned to be shown once. Every attempt
    from now on (retries of older events included) is signed with it."""
    storefront = lock_one(Storefront, storefront.pk)
    storefront.webhook_secret = WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
    storefront.save(update_fields=["webhook_secret"])
    return storefront, storefront.webhook_secret


@transaction.atomic
def ensure_webhook_secret(*, storefront: Storefront) -> tuple[Storefront, str | None]:
    """Generate the signing secret on demand: a storefront with a webhook URL and no secret gets one,
    returned to be shown once; otherwise nothing changes and the secret returned is None."""
    storefront = lock_one(Storefront, storefront.pk)
    if not storefront.webhook_url or storefront.webhook_secret:
        return storefront, None
    return rotate_webhook_secret(storefront=storefront)


def webhook_secret_hint(storefront: Storefront) -> str:
    """What may be shown of the secret: its first characters, enough to tell two secrets apart."""
    secret = storefront.webhook_secret
    return f"{secret[: len(WEBHOOK_SECRET_PREFIX) + 4]}…" if secret else ""
