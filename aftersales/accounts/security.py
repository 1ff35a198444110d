"""Abuse protection shared by the login, registration, password reset and case-creating views: who
the client is (IP), rate limits counted in the cache by django-ratelimit, and the account name
django-axes locks out. Settings and their reasons: README "Accounts security"."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import get_usage

from aftersales.common.errors import RateLimited

# action → the setting holding its rate ("N/period")
RATES = {
    "login": "RATELIMIT_LOGIN",
    "register": "RATELIMIT_REGISTER",
    "password-reset": "RATELIMIT_PASSWORD_RESET",
    "case-create": "RATELIMIT_CASE_CREATE",
    "claim": "RATELIMIT_CLAIM",
}
MESSAGES = {
    "login": _("Too many login attempts. Please wait %(minutes)s minute(s) and try again."),
    "register": _("Too many requests for this e-mail or from your network. Please wait %(minutes)s minute(s)."),
    "password-reset": _("Too many requests for this e-mail or from your network. Please wait %(minutes)s minute(s)."),
    "case-create": _("You have opened many requests in a short time. Please wait %(minutes)s minute(s)."),
    "claim": _("You have filed many claims in a short time. Please wait %(minutes)s minute(s)."),
}


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the header a trusted proxy sets (RATELIMIT_IP_META_KEY)."""
    value = request.META.get(settings.RATELIMIT_IP_META_KEY) or request.META.get("REMOTE_ADDR") or ""
    return value.split(",")[0].strip()


def login_username(request, credentials) -> str:
    """The account django-axes counts failures of: the e-mail, lower-cased, as User stores it."""
    if credentials and credentials.get("username"):
        value = credentials["username"]
    else:
        value = getattr(request, "data", request.POST).get("username", "")
    return str(value).strip().lower()


def limit(request, action: str, *keys: str) -> None:
    """Count one `action` against each key (e.g. "ip:…", "email:…", "user:…"); over any key's limit
    raises RateLimited (429, retry after the window's end). Each key has its own counter per action,
    shared by the API and the portal and, with CACHE_URL on Redis, by every process."""
    if not settings.RATELIMIT_ENABLED:
        return
    rate = getattr(settings, RATES[action])
    for key in keys:
        usage = get_usage(request, group=action, key=lambda _group, _request, key=key: key, rate=rate, increment=True)
        if usage is not None and usage["should_limit"]:
            wait = usage["time_left"]
            raise RateLimited(MESSAGES[action] % {"minutes": max(1, -(-wait // 60))}, retry_after=wait)


def ip_key(request) -> str:
    return f"ip:{client_ip(request)}"


def email_key(email: str) -> str:
    return f"email:{email.strip().lower()}"


def user_key(user) -> str:
    return f"user:{user.pk}"


def limit_customer(request, action: str = "case-create") -> None:
    """A customer opening a case (return, exchange, repair, warranty claim, ticket: "case-create") or
    filing a price-protection claim ("claim"), by API or portal: one counter per customer and action.
    Staff opening cases for customers (the desk) are not limited."""
    if not request.user.is_staff:
        limit(request, action, user_key(request.user))
