"""Writes on users: creating customers and staff with their role, and customers' self-service
(registration confirmed by an e-mailed link, password reset). README "Accounts security"."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import Group
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from aftersales.common.errors import DomainError, ValidationFailed

from . import roles
from .models import PendingRegistration, User

_REGISTRATION_SALT = "aftersales.accounts.registration"


class LinkUnusable(DomainError):
    code = "link_unusable"
    default_message = _("This link has expired or was already used. Please start again.")


@transaction.atomic
def user_create(*, email: str, password: str | None, role: str, full_name: str = "", **extra) -> User:
    """Create a user in one role; staff roles get `is_staff` so they can use the dashboard."""
    if role not in roles.ROLES:
        raise ValueError(f"Unknown role {role!r}")
    user = User.objects.create_user(
        email=email, password=password, full_name=full_name, is_staff=role in roles.STAFF_ROLES, **extra
    )
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    return user


def _enqueue(task, *args) -> None:
    # After commit, in a worker: the answer of the form is the same whatever the e-mail is, and as fast.
    transaction.on_commit(lambda: task.delay(*args))


@transaction.atomic
def register(*, email: str, full_name: str, password: str) -> PendingRegistration:
    """Keep the registration (password hashed) and e-mail its confirmation link; an earlier pending
    registration of the e-mail is replaced (its link stops working). What the e-mail says (confirm,
    or "you already have an account") is decided by the worker, so the caller learns nothing."""
    from .tasks import send_registration_email

    email = User.objects.normalize_email(email).strip().lower()
    PendingRegistration.objects.filter(email__iexact=email).delete()
    # Registrations whose link has expired are of no use: each new one sweeps them away.
    expired = timezone.now() - timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    PendingRegistration.objects.filter(created_at__lt=expired).delete()
    pending = PendingRegistration.objects.create(
        email=email, full_name=full_name.strip(), password=make_password(password), language=get_language() or ""
    )
    _enqueue(send_registration_email, pending.pk)
    return pending


def registration_token(pending: PendingRegistration) -> str:
    return signing.dumps(pending.pk, salt=_REGISTRATION_SALT)


def pending_registration(token: str) -> PendingRegistration:
    """The registration a link names, while the link is young enough and not used; else LinkUnusable."""
    try:
        pk = signing.loads(token, salt=_REGISTRATION_SALT, max_age=settings.PASSWORD_RESET_TIMEOUT)
    except signing.BadSignature:
        raise LinkUnusable() from None
    pending = PendingRegistration.objects.filter(pk=pk).first()
    if pending is None:
        raise LinkUnusable()
    return pending


def claimable(user: User | None) -> bool:
    """An account a registration may take: none yet, or a customer the storefront created (orders, no
    password). Accounts with a password, staff and deactivated accounts are never taken over."""
    return user is None or (user.is_active and not user.is_staff and not user.has_usable_password())


@transaction.atomic
def confirm_registration(*, token: str, password: str) -> User:
    """The e-mailed link followed and the chosen password entered again: create the customer, or give
    the storefront-created account of that e-mail its password (its orders stay with it). One use."""
    pending = pending_registration(token)
    PendingRegistration.objects.select_for_update().filter(pk=pending.pk).first()
    if not check_password(password, pending.password):
        raise ValidationFailed(fields={"password": [_("This is not the password you chose when registering.")]})
    user = User.objects.select_for_update().filter(email__iexact=pending.email).first()
    if not claimable(user):
        PendingRegistration.objects.filter(email__iexact=pending.email).delete()
        raise LinkUnusable()
    if user is None:
        user = user_create(email=pending.email, password=None, role=roles.CUSTOMER, full_name=pending.full_name)
    elif not user.full_name:
        user.full_name = pending.full_name
    user.password = pending.password
    if not user.preferred_language and pending.language:
        user.preferred_language = pending.language
    user.save()
    PendingRegistration.objects.filter(email__iexact=pending.email).delete()
    return user


def request_password_reset(*, email: str) -> None:
    """E-mail a reset link to the active account of this e-mail, if there is one (a storefront-created
    customer sets a first password this way too); nothing tells the caller whether there was."""
    from .tasks import send_password_reset_email

    _enqueue(send_password_reset_email, User.objects.normalize_email(email).strip().lower(), get_language() or "")


def totp_device(user: User) -> tuple[TOTPDevice, bool]:
    """A staff member's TOTP device, and whether they are still enrolling it: without a confirmed one, the
    unconfirmed device they were shown (the same key on every visit until confirmed), made if none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        return device, False
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or TOTPDevice.objects.create(
        user=user, name=_("Authenticator app"), confirmed=False
    )
    return device, True


def verify_totp(*, device: TOTPDevice, code: str) -> bool:
    """Whether `code` is the device's current one; the first right code confirms an enrolling device.
    django-otp refuses a code already used (last_t) and slows down guessing (growing delays)."""
    if not device.verify_token(code.strip()):
        return False
    if not device.confirmed:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return True
