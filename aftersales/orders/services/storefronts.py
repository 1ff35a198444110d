"""Registering storefronts: only a token's SHA-256 is kept; the plaintext is shown once."""

import secrets

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.common.errors import ValidationFailed

from ..authentication import hash_token
from ..models import Storefront


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
