"""Request-level guards that run before any view."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _


class RequestSizeLimitMiddleware:
    """Refuse a request whose declared body is larger than REQUEST_MAX_BYTES with a 413, before Django
    parses (and spools to disk) a multipart body: Django caps only the non-file fields
    (DATA_UPLOAD_MAX_MEMORY_SIZE) and the number of files, never the size of the files themselves."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.REQUEST_MAX_BYTES:
            message = _("The request is too large.")
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "too_large", "message": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
