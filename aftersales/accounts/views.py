from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language
from django_otp import login as otp_login

from aftersales.common.errors import DomainError, RateLimited

from . import security, services
from .forms import ConfirmRegistrationForm, EmailAuthenticationForm, EmailForm, RegistrationForm, TotpForm

_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@require_POST
def set_language(request):
    """Django's language switch, and remember the choice on the account so e-mails and
    notifications created later (by workers, with no request) use it too."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        request.user.preferred_language = language
        request.user.save(update_fields=["preferred_language"])
    return response


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm


def _limited(request, form, action: str, *keys: str) -> int:
    """Count the request; over the limit, put the message on the form and answer 429."""
    try:
        security.limit(request, action, *keys)
    except RateLimited as error:
        form.add_error(None, error.message)
        return 429
    return 0


@require_http_methods(["GET", "POST"])
def register(request):
    """Create account: e-mail, name, password twice. The answer never says whether the e-mail has an
    account; the e-mailed link does the rest (services.register)."""
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        status = _limited(request, form, "register", security.ip_key(request), security.email_key(email))
        if not status:
            services.register(
                email=email, full_name=form.cleaned_data["full_name"], password=form.cleaned_data["password1"]
            )
            return redirect("register-sent")
        return render(request, "accounts/register.html", {"form": form}, status=status)
    return render(request, "accounts/register.html", {"form": form}, status=400 if form.errors else 200)


def register_sent(request):
    message = _("We sent an e-mail to the address you gave. Open the link in it to finish creating your account.")
    return render(request, "accounts/link_sent.html", {"message": message})


@require_http_methods(["GET", "POST"])
def register_confirm(request, token):
    """The e-mailed link: enter the password chosen when registering, and the account is yours."""
    try:
        services.pending_registration(token)
    except DomainError as error:
        return render(request, "accounts/link_unusable.html", {"message": error.message}, status=400)
    form = ConfirmRegistrationForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        # Guessing the password of someone else's registration is guessing a login: the same limit.
        status = _limited(request, form, "login", security.ip_key(request))
        if not status:
            try:
                user = services.confirm_registration(token=token, password=form.cleaned_data["password"])
            except DomainError as error:
                for field, problems in error.fields.items():
                    for problem in problems:
                        form.add_error(field if field in form.fields else None, problem)
                if not error.fields:
                    return render(request, "accounts/link_unusable.html", {"message": error.message}, status=400)
                status = 400
            else:
                login(request, user, backend=_MODEL_BACKEND)
                messages.success(request, _("Your account is ready. Welcome!"))
                return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/register_confirm.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def password_reset(request):
    """Forgot password: the same answer whether or not the e-mail has an account."""
    form = EmailForm(request.POST or None)
    status = 400 if form.errors else 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        status = _limited(request, form, "password-reset", security.ip_key(request), security.email_key(email))
        if not status:
            services.request_password_reset(email=email)
            return redirect("password_reset_done")
    return render(request, "accounts/password_reset.html", {"form": form}, status=status)


def password_reset_done(request):
    message = _("If an account uses this e-mail, we sent it a link to choose a password.")
    return render(request, "accounts/link_sent.html", {"message": message})


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's: one-time token (it changes with the password), SetPasswordForm runs the validators."""

    template_name = "accounts/password_reset_confirm.html"


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("admin:index") if request.user.is_staff else reverse(settings.LOGIN_REDIRECT_URL)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request):
    """Staff, after the password: the code of their TOTP device. A staff member without a confirmed
    device enrols one here first (QR code and secret, shown until confirmed with a code)."""
    user = request.user
    if not user.is_staff:
        raise Http404  # customers have no second factor; the page does not exist for them
    if user.is_verified():
        return redirect(_next(request))
    device, enrolling = services.totp_device(user)
    form = TotpForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        if services.verify_totp(device=device, code=form.cleaned_data["code"]):
            otp_login(request, device)
            return redirect(_next(request))
        form.add_error("code", _("That code is not right, or was already used. Wait for the next one and try again."))
        status = 400
    context = {"form": form, "enrolling": enrolling, "next": _next(request)}
    if enrolling:
        # Inline SVG (paths only, no text or script): no data: URI for the Content-Security-Policy to allow.
        context["qr"] = segno.make(device.config_url, error="m").svg_inline(scale=5)
        context["secret"] = b32encode(device.bin_key).decode()
    return render(request, "accounts/two_factor.html", context, status=status)
