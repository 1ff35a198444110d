"""The staff dashboard is the Django admin, branded for this shop.

`admin.site` stays the one site every app registers with (`@admin.register`); this module only
sets its titles. The titles are lazy so they follow `settings.SHOP_NAME` (and test overrides).
"""

from django.conf import settings
from django.contrib import admin
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

BRAND = "aftersales · 售后"


def _site_header() -> str:
    return f"{BRAND} · {settings.SHOP_NAME}"


site_header = lazy(_site_header, str)()


def brand(site: admin.AdminSite = admin.site) -> None:
    """Idempotent: called from the core apps' admin modules, whichever the autodiscovery loads first."""
    site.site_header = site_header
    site.site_title = site_header
    site.index_title = _("Staff dashboard")
    site.enable_nav_sidebar = True


class ViewOnlyMixin:
    """For admins and inlines of rows that services write: the dashboard shows them, nothing else."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
