"""The staff dashboard is the Django admin, branded for this shop.

`admin.site` stays the one site every app registers with (`@admin.register`); this module only
sets its titles. The titles are lazy so they follow `settings.SHOP_NAME` (and test overrides).
"""

from django.conf import settings
from django.contrib import admin
from django.urls import path
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
    # Pages that belong to no model hang off the site itself. `admin.site` is Django's own AdminSite
    # (not a subclass every app would have to be pointed at), so its `get_urls` and `index` are wrapped
    # on the instance, once; `site.urls` is read when the URLconf loads, after the admin modules ran.
    if not getattr(site, "pages_added", False):
        site.pages_added = True
        site_urls, site_index = site.get_urls, site.index
        site.get_urls = lambda: [*pages(site), *site_urls()]
        site.index = lambda request, extra_context=None: site_index(
            request, {**(extra_context or {}), **index_context(request)}
        )


def pages(site: admin.AdminSite) -> list:
    """The dashboard's pages that belong to no model: /admin/insight/ (R-FB-2)."""
    from aftersales.insight.views import insight_page

    return [path("insight/", site.admin_view(lambda request: insight_page(request, site)), name="insight")]


def index_context(request) -> dict:
    """What the index's shortcut boxes of those pages need to know."""
    from aftersales.insight.views import can_see

    return {"insight_visible": can_see(request.user)}


class ViewOnlyMixin:
    """For admins and inlines of rows that services write: the dashboard shows them, nothing else."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class QueueMixin:
    """A work queue over a big table: 50 rows a page (the dashboard builds every cell in Python; 100 rows
    of a dozen columns took about 90 ms) and no second count of the whole unfiltered table. Queues (and
    other lists of big tables) filter by date with a list filter, not `date_hierarchy`, whose list of
    years reads every row of the table (bench/explain.py)."""

    list_per_page = 50
    show_full_result_count = False


class SingleRowSettingsMixin:
    """For a shop's settings model (one row, `pk=1`): it can be added once and never deleted."""

    def has_add_permission(self, request):
        return not self.model.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


def case_status_filter(statuses: dict) -> type[admin.SimpleListFilter]:
    """A list filter on the case's status for a detail model (`case__status`), offering `statuses`
    (a workflow's value → label)."""

    class CaseStatusFilter(admin.SimpleListFilter):
        title = _("status")
        parameter_name = "status"

        def lookups(self, request, model_admin):
            return list(statuses.items())

        def queryset(self, request, queryset):
            return queryset.filter(case__status=self.value()) if self.value() else queryset

    return CaseStatusFilter
