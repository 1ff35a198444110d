"""Request-level guards that run before any view."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _


class RequestSizeLimitMiddleware:
    """Refuse a request whose declared body is too large with a 413, before anything reads it.
    Multipart bodies (file uploads) may be up to REQUEST_MAX_BYTES: Django caps only their non-file
    fields (DATA_UPLOAD_MAX_MEMORY_SIZE) and the number of files, never the files' size. Any other body
    (JSON, forms) may be up to DATA_UPLOAD_MAX_MEMORY_SIZE, which Django applies to `request.body` but
    DRF's parsers, reading the stream, never check."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if request.content_type.startswith("multipart/"):
            limit = settings.REQUEST_MAX_BYTES
        else:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or settings.REQUEST_MAX_BYTES
        if length > limit:
            message = _("The request is too large.")
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "too_large", "message": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
