"""The OpenAPI schema documents the error answers, not only the happy ones: a client (and the API fuzz
test, tests/security/test_api_fuzz.py) can rely on every status an operation may give being listed,
each in the one error shape of `aftersales.common.api.exception_handler`."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular import openapi
from rest_framework import permissions, serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_('What went wrong, for programs: "invalid", "not_found", …'))
    detail = serializers.CharField(help_text=_("What went wrong, for people."))
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_('Messages per field ("lines.0.quantity"); empty when the error is not about a field.'),
    )
    rule = serializers.CharField(required=False, help_text=_("The business rule that refused (R-RET-1 …)."))

    class Meta:
        ref_name = "Error"


ERRORS = {
    "400": _("Invalid input: the fields that are wrong and why."),
    "401": _("No credentials, or credentials that are not valid."),
    "403": _("Not allowed to do this."),
    "404": _("No such object (in the path or the body), or not yours; or a page past the end of the list."),
    "409": _("The object is not in a state this action starts from, or was changed meanwhile."),
    "415": _("The request body's media type is not accepted."),
    "429": _("Too many requests: try again later."),
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, plus the errors each operation can answer, derived from what it takes."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        ref = self.resolve_serializer(ErrorSerializer, "response").ref
        for code in self._error_codes(operation):
            content = {"application/json": {"schema": dict(ref)}}  # a dict of its own: no YAML aliases
            operation["responses"].setdefault(code, {"description": str(ERRORS[code]), "content": content})
        return operation

    def _error_codes(self, operation) -> list[str]:
        parameters = operation.get("parameters", [])
        unsafe = self.method not in ("GET", "HEAD", "OPTIONS")
        codes = []
        # Bad input, and a business rule refusing an action (a DomainError: PolicyRefused …) answer 400.
        if unsafe or any(p["in"] == "query" for p in parameters):
            codes.append("400")
        if operation.get("security"):
            codes.append("401")  # a wrong token is refused even where anonymous callers are welcome
        if not all(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions()):
            codes.append("403")
        # An object named in the path or the body (an order, a case) that is missing or someone else's is
        # a 404, as is a page past the end of a list.
        paged = any(p["name"] == "page" for p in parameters)
        if any(p["in"] == "path" for p in parameters) or paged or (unsafe and "requestBody" in operation):
            codes.append("404")
        if unsafe and any(p["in"] == "path" for p in parameters):
            codes.append("409")
        if "requestBody" in operation:
            codes.append("415")
        if self.view.get_throttles():
            codes.append("429")
        return codes
