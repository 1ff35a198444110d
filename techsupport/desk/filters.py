"""The queue's filters beyond the plain field filters."""

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..workflow import CLOSED, NEW, OPEN, RESOLVED, WAITING


class AssignmentFilter(admin.SimpleListFilter):
    title = _("assigned")
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("me", _("Assigned to me")), ("unassigned", _("Unassigned")), ("my_teams", _("My teams"))]

    def queryset(self, request, queryset):
        match self.value():
            case "me":
                return queryset.filter(case__assignee=request.user)
            case "unassigned":
                return queryset.filter(case__assignee__isnull=True)
            case "my_teams":
                return queryset.filter(team__in=request.user.support_teams.all())
        return queryset


class StateFilter(admin.SimpleListFilter):
    """Still to do (new, in progress or waiting on the customer) or done (resolved or closed)."""

    title = _("open or done")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", _("Open")), ("done", _("Resolved or closed"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(case__status__in=(NEW, OPEN, WAITING))
        if self.value() == "done":
            return queryset.filter(case__status__in=(RESOLVED, CLOSED))
        return queryset


class BreachedEverFilter(admin.SimpleListFilter):
    """A target was missed at some point, whatever the flag says now (R-SUP-3)."""

    title = _("ever breached")
    parameter_name = "breached"
    BREACHED = Q(first_response_breached=True) | Q(next_response_breached=True) | Q(resolution_breached=True)

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(self.BREACHED)
        if self.value() == "no":
            return queryset.exclude(self.BREACHED)
        return queryset
