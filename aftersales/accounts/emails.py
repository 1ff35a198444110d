"""The account e-mails: plain text, in the recipient's language, links absolute (PORTAL_URL)."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from .models import PendingRegistration, User


def _send(*, to: str, subject: str, template: str, context: dict) -> None:
    context = {"shop": settings.SHOP_NAME, "hours": settings.PASSWORD_RESET_TIMEOUT // 3600, **context}
    send_mail(
        subject=f"[{settings.SHOP_NAME}] {subject}",
        message=render_to_string(template, context),
        from_email=None,
        recipient_list=[to],
    )


def _language(user: User | None, fallback: str) -> str:
    language = (user.preferred_language if user else "") or fallback
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def registration(pending_id: int) -> bool:
    """The confirmation link; or, when the e-mail already has an account that registering cannot take
    (it has a password, or is staff or deactivated), a note saying so with the password-reset link."""
    from .services import claimable, registration_token

    pending = PendingRegistration.objects.filter(pk=pending_id).first()
    if pending is None:
        return False
    user = User.objects.filter(email__iexact=pending.email).first()
    with translation.override(_language(user, pending.language)):
        if claimable(user):
            link = settings.PORTAL_URL + reverse("register-confirm", args=[registration_token(pending)])
            _send(
                to=pending.email,
                subject=_("Confirm your account"),
                template="accounts/email/confirm_registration.txt",
                context={"link": link},
            )
            return True
        pending.delete()
        _send(
            to=pending.email,
            subject=_("You already have an account"),
            template="accounts/email/already_registered.txt",
            context={
                "login_link": settings.PORTAL_URL + reverse("login"),
                "reset_link": settings.PORTAL_URL + reverse("password_reset"),
            },
        )
        return False


def password_reset(email: str, language: str) -> int:
    sent = 0
    for user in User.objects.filter(email__iexact=email, is_active=True):
        uid, token = urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)
        path = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})
        with translation.override(_language(user, language)):
            _send(
                to=user.email,
                subject=_("Set your password") if not user.has_usable_password() else _("Reset your password"),
                template="accounts/email/password_reset.txt",
                context={"link": settings.PORTAL_URL + path, "first_password": not user.has_usable_password()},
            )
        sent += 1
    return sent
