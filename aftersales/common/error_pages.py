"""Django's own error answers (a URL no route matches, a request too big or malformed to parse, a crash
before or outside DRF) are HTML pages; under /api/ they come in the API's one JSON error shape instead,
so a client reads every answer the same way. Pages elsewhere keep Django's templates."""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

from .api import error_body


def _api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    if _api(request):
        return JsonResponse(error_body("bad_request", _("The request could not be read.")), status=400)
    return defaults.bad_request(request, exception, template_name)


def permission_denied(request, exception, template_name=defaults.ERROR_403_TEMPLATE_NAME):
    if _api(request):
        return JsonResponse(error_body("permission_denied", _("You are not allowed to do this.")), status=403)
    return defaults.permission_denied(request, exception, template_name)


def page_not_found(request, exception, template_name=defaults.ERROR_404_TEMPLATE_NAME):
    if _api(request):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return defaults.page_not_found(request, exception, template_name)


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    if _api(request):
        return JsonResponse(error_body("server_error", _("Something went wrong on our side.")), status=500)
    return defaults.server_error(request, template_name)
