"""The language of a page: the logged-in user's own choice first (their profile, which the header's
switch also sets), then Django's LocaleMiddleware's (the language cookie, then the browser's
Accept-Language). Without this, a customer who chose Chinese saw English on a new device until they
switched again."""

from django.conf import settings
from django.utils import translation


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
