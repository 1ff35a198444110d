"""Users log in by e-mail; what they may do comes from their role groups (see roles.py)."""

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class Tier(models.TextChoices):
    """The customer's membership tier: SLA policies can promise faster answers to higher tiers."""

    STANDARD = "standard", _("Standard")
    PLUS = "plus", _("Plus member")
    VIP = "vip", _("VIP")


class User(AbstractUser):
    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    # Province / city code or name; warranty routing to service centres reads it later.
    region = models.CharField(_("region"), max_length=64, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=10, blank=True)
    tier = models.CharField(_("customer tier"), max_length=16, choices=Tier.choices, default=Tier.STANDARD)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]

    def __str__(self):
        return self.full_name or self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name or self.email

    def has_role(self, role: str) -> bool:
        return self.groups.filter(name=role).exists()


class PendingRegistration(models.Model):
    """A "Create account" form sent but not confirmed yet: the account is created (or a storefront
    customer's account claimed) only when the e-mailed link is followed and the password entered
    again, so neither someone who does not own the mailbox nor someone who does but did not choose the
    password (a registration made in their name) gets an account with orders in it."""

    email = models.EmailField(_("e-mail address"))
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    password = models.CharField(_("password"), max_length=128)  # hashed, as User.password
    language = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("pending registration")
        verbose_name_plural = _("pending registrations")
        indexes = [models.Index(Lower("email"), name="accounts_pending_email_ci")]

    def __str__(self):
        return self.email
