"""The language of a page: the logged-in user's own choice first (their profile, which the header's
switch also sets), then Django's LocaleMiddleware's (the language cookie, then the browser's
Accept-Language). Without this, a customer who chose Chinese saw English on a new device until they
switched again."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from aftersales.common.api import error_body


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.languages = dict(settings.LANGUAGES)

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "preferred_language", "") if user is not None and user.is_authenticated else ""
        if language in self.languages:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


class StaffTwoFactorMiddleware:
    """STAFF_TWO_FACTOR: a staff session that has not entered a TOTP code (django-otp's is_verified)
    reaches only the code's page, logout and static files: pages redirect there, the API answers 403
    `two_factor_required`. Customers are not concerned. (API tokens of staff are issued only with a
    code: aftersales.accounts.api.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.STAFF_TWO_FACTOR and not self._exempt(request.path_info):
            user = request.user
            if user.is_authenticated and user.is_staff and not user.is_verified():
                if request.path_info.startswith("/api/"):
                    body = error_body("two_factor_required", _("Enter your two-factor code in the dashboard first."))
                    return JsonResponse(body, status=403)
                return redirect_to_login(request.get_full_path(), reverse("two-factor"))
        return self.get_response(request)

    @staticmethod
    def _exempt(path: str) -> bool:
        allowed = (reverse("two-factor"), reverse("logout"), reverse("admin:logout"), reverse("set_language"))
        return path in allowed or path.startswith("/" + settings.STATIC_URL.lstrip("/")) or path == "/healthz"
