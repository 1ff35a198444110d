"""The queue's columns and the ticket page's header: what a ticket shows, read from the row and
the joins `selectors.desk_tickets` makes (no query per row)."""

from django.contrib import admin
from django.db.models import F
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from ..workflow import WAITING


def _local(moment):
    """A moment in the shop's time zone, formatted for the active language ("-" when unset)."""
    return formats.localize(timezone.localtime(moment)) if moment else "-"


def admin_link(site, viewname: str, pk, text):
    try:
        url = reverse(viewname, args=[pk], current_app=site.name)
    except NoReverseMatch:
        return text
    return format_html('<a href="{}">{}</a>', url, text)


def case_url(site, case) -> str:
    """A ticket's desk page, or the case page of any other kind (which links to its own steps)."""
    if case.kind == "ticket":
        return reverse("admin:techsupport_ticket_change", args=[case.pk], current_app=site.name)
    return reverse("admin:cases_case_change", args=[case.pk], current_app=site.name)


def duration_text(delta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


class TicketColumns:
    """Display methods of the ticket admin (mixed into `TicketAdmin`)."""

    @admin.display(description=_("number"), ordering="case__number")
    def number(self, obj):
        return obj.case.number

    @admin.display(description=_("subject"), ordering="case__subject")
    def subject(self, obj):
        return obj.case.subject

    @admin.display(description=_("customer"), ordering="case__customer__email")
    def customer(self, obj):
        return obj.case.customer

    @admin.display(description=_("status"), ordering="case__status")
    def status_label(self, obj):
        return format_html(
            '<span class="case-status status-{}">{}</span>', obj.case.status, obj.case.get_status_display()
        )

    @admin.display(description=_("assignee"), ordering="case__assignee__email")
    def assignee(self, obj):
        return obj.case.assignee or "-"

    @admin.display(description=_("SLA due"), ordering=F("sla_due_at").asc(nulls_last=True))
    def sla_countdown(self, obj):
        """Wall-clock time left until the earliest running target (or past it), coloured by the flag."""
        if obj.case.status == WAITING:
            return format_html('<span class="sla sla-paused">{}</span>', _("paused"))
        if obj.sla_due_at is None:
            return "-"
        left = obj.sla_due_at - timezone.now()
        if left.total_seconds() > 0:
            text = _("%(time)s left") % {"time": duration_text(left)}
        else:
            text = _("overdue %(time)s") % {"time": duration_text(left)}
        return format_html('<span class="sla sla-{}" title="{}">{}</span>', obj.sla_flag, _local(obj.sla_due_at), text)

    @admin.display(description=_("opened"), ordering="case__opened_at")
    def opened(self, obj):
        return formats.date_format(timezone.localtime(obj.case.opened_at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("opened"))
    def opened_at(self, obj):
        return _local(obj.case.opened_at)

    @admin.display(description=_("order"))
    def order_link(self, obj):
        order = obj.case.order
        return admin_link(self.admin_site, "admin:orders_order_change", order.pk, order.number) if order else "-"

    @admin.display(description=_("about case"))
    def related_case_link(self, obj):
        related = obj.related_case
        if related is None:
            return "-"
        return format_html(
            '<a href="{}">{}</a> · {}', case_url(self.admin_site, related), related.number, related.get_status_display()
        )

    @admin.display(description=_("cases opened from it"))
    def linked_cases_list(self, obj):
        linked = list(obj.linked_cases.order_by("opened_at", "pk"))
        if not linked:
            return "-"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a> ({})',
            ((case_url(self.admin_site, c), c.number, c.get_status_display()) for c in linked),
        )

    @admin.display(description=_("SLA"))
    def sla_flag_label(self, obj):
        if obj.case.status == WAITING:
            return format_html('<span class="sla sla-paused">{}</span>', _("paused: waiting on the customer"))
        return format_html('<span class="sla sla-{}">{}</span>', obj.sla_flag, obj.get_sla_flag_display())

    @admin.display(description=_("first response"))
    def first_response_state(self, obj):
        target = _("%(minutes)d business min") % {"minutes": obj.first_response_minutes}
        if obj.first_responded_at:
            met = _("late") if obj.first_response_breached else _("on time")
            return _("%(target)s · due %(due)s · answered %(at)s (%(met)s)") % {
                "target": target,
                "due": _local(obj.first_response_due_at),
                "at": _local(obj.first_responded_at),
                "met": met,
            }
        return _("%(target)s · due %(due)s · not answered yet") % {
            "target": target,
            "due": _local(obj.first_response_due_at),
        }

    @admin.display(description=_("next response"))
    def next_response_state(self, obj):
        if not obj.next_response_minutes:
            return _("No target.")
        target = _("%(minutes)d business min") % {"minutes": obj.next_response_minutes}
        if obj.awaiting_reply_since and obj.next_response_due_at:
            return _("%(target)s · the customer wrote %(since)s · due %(due)s") % {
                "target": target,
                "since": _local(obj.awaiting_reply_since),
                "due": _local(obj.next_response_due_at),
            }
        return _("%(target)s · nothing waits for an answer") % {"target": target}

    @admin.display(description=_("resolution"))
    def resolution_state(self, obj):
        if not obj.resolution_minutes:
            return _("No target.")
        target = _("%(minutes)d business min") % {"minutes": obj.resolution_minutes}
        used = duration_text(obj.resolution_used)
        if obj.resolved_at:
            return _("%(target)s · resolved %(at)s") % {"target": target, "at": _local(obj.resolved_at)}
        if obj.clock_started_at is None:
            return _("%(target)s · paused, %(used)s used") % {"target": target, "used": used}
        return _("%(target)s · due %(due)s") % {"target": target, "due": _local(obj.resolution_due_at)}

    @admin.display(description=_("targets missed"))
    def breaches(self, obj):
        missed = [
            label
            for missed, label in (
                (obj.first_response_breached, _("first response")),
                (obj.next_response_breached, _("a next response")),
                (obj.resolution_breached, _("resolution")),
            )
            if missed
        ]
        return ", ".join(str(label) for label in missed) if missed else _("None.")
