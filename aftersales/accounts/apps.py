from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "aftersales.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from .signals import resync_roles

        post_migrate.connect(resync_roles, dispatch_uid="aftersales.accounts.resync_roles")
