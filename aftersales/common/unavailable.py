"""The database unreachable (restarting, failing over, out of connections) is a 503 the client may
retry, not a 500 with a traceback in the log: a JSON error on the API, a short page elsewhere.

It is Django's 500 handler (handler500 in aftersales/urls.py) rather than a middleware, because the
database is first touched in middleware as often as in views (the session, the user's language), and
a middleware's process_exception sees only what views raise."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token

from . import error_pages
from .api import error_body

RETRY_AFTER_SECONDS = 5


def database_unavailable(exc: BaseException | None) -> bool:
    """OperationalError: the connection could not be made or broke; InterfaceError: a broken one used."""
    return isinstance(exc, OperationalError | InterfaceError)


@requires_csrf_token
def server_error(request, template_name="500.html"):
    exc = sys.exc_info()[1]  # Django calls this handler while handling the exception
    if not database_unavailable(exc):
        return error_pages.server_error(request, template_name)
    message = _("The service is briefly unavailable. Please try again in a few seconds.")
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body("service_unavailable", message), status=503)
    else:  # no base template: its context processors would ask the database again
        response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
