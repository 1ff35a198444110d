"""One error shape for the whole API: {"code": …, "detail": …, "fields": {…}}."""

import json
from datetime import UTC, datetime

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError, PolicyRefused, RateLimited, ValidationFailed

# DRF's formatting of a time and of money, for endpoints that build their rows as plain dicts: on a list
# of rows a serializer's fields (built for every response) cost more than the rows themselves.
_TIME = serializers.DateTimeField()
_MONEY = serializers.DecimalField(max_digits=12, decimal_places=2)


def api_time(value) -> str | None:
    return _TIME.to_representation(value)


def api_money(value) -> str:
    return _MONEY.to_representation(value)


# The largest id a BigAutoField holds: a bigger number in a lookup overflows the database driver (a 500).
ID_MAX = 2**63 - 1


class MomentField(serializers.DateTimeField):
    """A date and time a client sends, in the years 2000 to 2099. Nothing an after-sales matter records
    happens outside them, and an older time renders with the zone's historical local offset
    ("+08:05:43"), which no RFC 3339 reader accepts (found by tests/security/test_api_fuzz.py)."""

    EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
    LATEST = datetime(2100, 1, 1, tzinfo=UTC)

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        if not self.EARLIEST <= moment < self.LATEST:
            raise serializers.ValidationError(_("Give a time in the years 2000 to 2099."))
        return moment


def _flatten(detail) -> dict:
    """DRF's nested error detail → {"field": ["message", …], "lines.0.quantity": [...]}."""
    fields: dict[str, list[str]] = {}

    def walk(value, prefix):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(sub, f"{prefix}.{key}" if prefix else str(key))
        elif isinstance(value, list) and value and not all(isinstance(v, str) for v in value):
            for index, sub in enumerate(value):
                if sub:
                    walk(sub, f"{prefix}.{index}" if prefix else str(index))
        else:
            fields.setdefault(prefix or "non_field_errors", []).extend(
                [str(v) for v in value] if isinstance(value, list) else [str(value)]
            )

    walk(detail, "")
    return fields


def error_body(code: str, detail, fields: dict | None = None) -> dict:
    return {"code": code, "detail": str(detail), "fields": fields or {}}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        body = error_body(exc.code, exc.message, {k: [str(m) for m in v] for k, v in exc.fields.items()})
        if isinstance(exc, PolicyRefused):
            body["rule"] = exc.rule
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return Response(body, status=exc.http_status, headers=headers)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid", ValidationFailed.default_message, _flatten(exc.detail))
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        if not isinstance(code, str):
            code = "error"
        response.data = error_body(code, detail if isinstance(detail, str) else str(detail))
    return response


def multipart_json(request, field: str = "data") -> dict:
    """The JSON object a multipart request carries as a string in `field` (beside its files); a file
    of that name, bad JSON, deep nesting or anything but an object is a 400 on the field."""
    raw = request.data.get(field)
    try:
        body = json.loads(raw) if isinstance(raw, str) else None
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        raise ValidationFailed(fields={field: [_("Not a JSON object.")]})
    return body


def valid(serializer_class, data) -> dict:
    """The validated data of a request body, or a 400 in the one error shape (`exception_handler`)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
