"""How a storefront proves who it is: `Authorization: Storefront <token>` (or `Bearer <token>`).

Only the token's SHA-256 is stored (`Storefront.token_sha256`), so a leaked database does not leak
working tokens. A request that authenticates gets `request.user` = AnonymousUser (no person is
acting) and `request.auth` = the Storefront.
"""

import hashlib
import hmac

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from .models import Storefront

KEYWORDS = (b"storefront", b"bearer")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def storefront_for_token(token: str) -> Storefront | None:
    """The active storefront holding `token`, or None."""
    digest = hash_token(token)
    storefront = Storefront.objects.filter(token_sha256=digest, active=True).first()
    # The lookup is by digest (an index hit); compare again in constant time for good measure.
    if storefront is None or not hmac.compare_digest(storefront.token_sha256, digest):
        return None
    return storefront


class StorefrontAuthentication(authentication.BaseAuthentication):
    """DRF authentication for the storefront ingest API."""

    keyword = "Storefront"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None  # no credentials: the permission check answers 401 with WWW-Authenticate
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: expected 'Storefront <token>'."))
        try:
            token = parts[1].decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid storefront token.")) from None
        storefront = storefront_for_token(token)
        if storefront is None:
            raise exceptions.AuthenticationFailed(_("Invalid storefront token."))
        return (AnonymousUser(), storefront)

    def authenticate_header(self, request):
        # A value here makes DRF answer 401 (not 403) to a missing or wrong token.
        return f'{self.keyword} realm="storefront"'


class IsStorefront(permissions.BasePermission):
    message = _("A storefront token is required.")

    def has_permission(self, request, view):
        return isinstance(request.auth, Storefront)


class StorefrontAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "aftersales.orders.authentication.StorefrontAuthentication"
    name = "storefrontToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": str(_('Storefront token: "Storefront <token>" or "Bearer <token>".')),
        }
