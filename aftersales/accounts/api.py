"""POST /api/v1/auth/token/: DRF's token for an e-mail and password, behind the login rate limit and
the lockout (django-axes); staff also give a TOTP code when STAFF_TWO_FACTOR is on, as on the web."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_otp import match_token
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response

from aftersales.common.errors import RateLimited

from . import security


class TokenInput(AuthTokenSerializer):
    otp_token = serializers.CharField(
        required=False,
        write_only=True,
        help_text="Staff: the current code of their authenticator app (two-factor authentication).",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        user = attrs["user"]
        if settings.STAFF_TWO_FACTOR and user.is_staff:
            code = attrs.get("otp_token", "").strip()
            if not code or match_token(user, code) is None:
                raise serializers.ValidationError(
                    {"otp_token": [_("Enter the current code of your authenticator app (not one used before).")]}
                )
        return attrs


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()


class TokenView(ObtainAuthToken):
    serializer_class = TokenInput

    @extend_schema(request=TokenInput, responses={200: TokenOutput})
    def post(self, request, *args, **kwargs):
        username = request.data.get("username", "") if hasattr(request.data, "get") else ""
        security.limit(request, "login", security.ip_key(request), security.email_key(str(username)))
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            if getattr(request, "axes_locked_out", False):
                # django-axes refused the (account, IP) pair: say so, as the login page does.
                raise RateLimited(
                    _("Too many failed logins. This account is locked from your address for a while."),
                    retry_after=int(settings.AXES_COOLOFF_TIME * 3600),
                )
            serializer.is_valid(raise_exception=True)
        token, _created = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})
