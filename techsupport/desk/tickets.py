"""The ticket queue and the ticket page (R-SUP-1 … R-SUP-4).

Configuration, not logic: a ticket is read-only here. Its page carries forms (reply or note, assign,
triage, escalate, resolve, close, reopen, open a repair) that post to the views below, each calling
the matching `techsupport.services.tickets` function, which checks the permission and the status
and writes. Refusals are shown as messages, never as an error page.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from aftersales.common.admin_site import QueueMixin, case_status_filter
from aftersales.common.errors import DomainError, PolicyRefused, ValidationFailed
from aftersales.orders.guarantees import Remedy
from aftersales.orders.models import Order, OrderLine
from warranty.policy import Document, Fault, ServiceMode

from .. import selectors
from .. import workflow as ts_workflow
from ..models import CannedReply, Category, Priority, Team, Ticket
from ..services import tickets
from ..services.tickets import ESCALATE, REPAIR
from ..workflow import CLOSED, NEW, OPEN, RESOLVED, WAITING, WORK
from . import stats
from .columns import TicketColumns, admin_link, case_url
from .filters import AssignmentFilter, BreachedEverFilter, StateFilter
from .forms import ContactForm

NOTE_MAX_LENGTH = 5000
# The forms on a ticket's page. Those that move the ticket (escalate, resolve, close, reopen) carry the
# case version the page was rendered from, which their services check under the row lock; a reply
# does not (it stays worth sending whatever happened meanwhile).
ACTIONS = ("reply", "assign", "triage", "escalate", "resolve", "close", "reopen", "repair")


def refusal_text(error: DomainError) -> str:
    """The refusal for a message, with its rule id (R-SUP-2 …) when a business rule said no."""
    text = error.text
    rule = getattr(error, "rule", "") if isinstance(error, PolicyRefused) else ""
    return f"{text} ({rule})" if rule and rule not in text else text


CaseStatusFilter = case_status_filter(ts_workflow.STATUSES)


@admin.register(Ticket)
class TicketAdmin(QueueMixin, TicketColumns, admin.ModelAdmin):
    list_display = (
        "number",
        "subject",
        "customer",
        "status_label",
        "priority",
        "category",
        "team",
        "assignee",
        "channel",
        "sla_countdown",
        "opened",
    )
    list_display_links = ("number", "subject")
    list_filter = (
        CaseStatusFilter,
        StateFilter,
        AssignmentFilter,
        "team",
        "sla_flag",
        BreachedEverFilter,
        "priority",
        "category",
        "channel",
    )
    search_fields = ("case__number", "case__subject", "case__customer__email")
    # The target due soonest first; tickets with no running target (waiting, resolved, closed) last.
    ordering = (F("sla_due_at").asc(nulls_last=True), F("case__opened_at").desc(), "pk")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "subject",
                    "status_label",
                    "customer",
                    "team",
                    "assignee",
                    "priority",
                    "category",
                    "channel",
                    "product",
                    "order_link",
                    "related_case_link",
                    "linked_cases_list",
                    "opened_at",
                    "escalated_at",
                )
            },
        ),
        (
            _("SLA (R-SUP-3)"),
            {
                "fields": (
                    "sla_flag_label",
                    "sla_policy",
                    "first_response_state",
                    "next_response_state",
                    "resolution_state",
                    "breaches",
                )
            },
        ),
    )
    readonly_fields = tuple(name for _title, options in fieldsets for name in options["fields"])

    def get_queryset(self, request):
        return selectors.desk_tickets()

    # --- who may do what: tickets are opened by `open_ticket` and never edited or deleted here

    def has_add_permission(self, request):
        return request.user.is_active and request.user.has_perm(WORK)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # --- the page's views

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "stats/",
                self.admin_site.admin_view(self.stats_view),
                name="{}_{}_stats".format(*info),
            ),
            *(
                path(
                    f"<path:object_id>/{action}/",
                    self.admin_site.admin_view(require_POST(self.action_view)),
                    {"action": action},
                    name="{}_{}_{}".format(*info, action),
                )
                for action in ACTIONS
            ),
            *super().get_urls(),
        ]

    def _url(self, view: str, *args) -> str:
        info = self.opts.app_label, self.opts.model_name
        return reverse("admin:{}_{}_{}".format(*info, view), args=args, current_app=self.admin_site.name)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "stats_url": self._url("stats")}
        return super().changelist_view(request, extra_context)

    def available_actions(self, ticket: Ticket, user) -> list[str]:
        """The forms to show: what the services would let `user` do on the ticket in its status."""
        status = ticket.case.status
        if not (user.is_active and user.has_perm(WORK)) or status == CLOSED:
            return []
        shown = ["reply", "assign", "triage", "close"]
        if status in (NEW, OPEN, WAITING):
            shown.append("resolve")
            if ticket.team.tier == 1 and user.has_perm(ESCALATE):
                shown.append("escalate")
        if status == RESOLVED:
            shown.append("reopen")
        if user.has_perm(REPAIR):
            shown.append("repair")
        return shown

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        ticket = self.get_object(request, unquote(object_id))
        if ticket is not None and self.has_view_permission(request, ticket):
            extra_context.update(self.desk_context(ticket, request.user))
        return super().change_view(request, object_id, form_url, extra_context)

    def desk_context(self, ticket: Ticket, user) -> dict:
        case = ticket.case
        actions = self.available_actions(ticket, user)
        teams = list(Team.objects.order_by("tier", "name"))
        site = self.admin_site
        context = {
            "ticket": ticket,
            "ticket_case": case,
            "desk_actions": {action: self._url(action, case.pk) for action in actions},
            "conversation": selectors.conversation(case),
            "customer_orders": [
                (order, admin_link(site, "admin:orders_order_change", order.pk, order.number))
                for order in selectors.customer_orders(case.customer)
            ],
            "customer_cases": [
                (other, case_url(site, other)) for other in selectors.customer_cases(case.customer, besides=case)
            ],
            "customer_url": admin_link(site, "admin:accounts_user_change", case.customer_id, case.customer.email),
            "stats_url": self._url("stats"),
        }
        if actions:
            context.update(
                canned_replies=selectors.canned_replies(case, ticket.category, user),
                then_choices=CannedReply.Then.choices,
                workers=list(selectors.ticket_workers()),
                teams=teams,
                technical_teams=[team for team in teams if team.tier == 2],
                priorities=Priority.choices,
                categories=Category.choices,
            )
        if "repair" in actions:
            context.update(
                repair_lines=selectors.repairable_lines(case.customer),
                faults=Fault.choices,
                remedies=[(r.value, r.label) for r in (Remedy.REPAIR, Remedy.EXCHANGE, Remedy.RETURN)],
                documents=Document.choices,
                service_modes=ServiceMode.choices,
            )
        return context

    def action_view(self, request, object_id, action):
        ticket = self.get_object(request, unquote(object_id))
        if ticket is None:
            raise Http404(_("No such ticket."))
        if not self.has_view_permission(request, ticket):
            raise PermissionDenied
        case = ticket.case
        try:
            message = getattr(self, f"_{action}")(request, ticket)
        except DomainError as error:
            self.message_user(request, refusal_text(error), messages.ERROR)
        else:
            self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(self._url("change", case.pk))

    # --- each form's call to its service; the success message

    @staticmethod
    def _user(raw: str, field: str):
        if not (raw or "").strip():
            return None
        user = get_user_model().objects.filter(pk=raw).first() if raw.isdigit() else None
        if user is None:
            raise ValidationFailed(fields={field: [_("Choose a member of staff who works tickets.")]})
        return user

    @staticmethod
    def _version(request) -> int:
        """The case version the page was rendered from: a step is not taken on a state nobody saw
        (a missing or garbled one is a conflict too)."""
        raw = request.POST.get("version", "")
        return int(raw) if raw.isdigit() else -1

    @staticmethod
    def _team(raw: str):
        if not (raw or "").strip():
            return None
        team = Team.objects.filter(pk=raw).first() if raw.isdigit() else None
        if team is None:
            raise ValidationFailed(fields={"team": [_("Choose a team.")]})
        return team

    @staticmethod
    def _status_message(case):
        case.refresh_from_db(fields=["status"])
        return _("Ticket %(number)s is now: %(status)s.") % {"number": case.number, "status": case.get_status_display()}

    def _reply(self, request, ticket):
        post, case = request.POST, ticket.case
        body = post.get("body", "")
        if not body.strip() and (post.get("canned") or "").isdigit():
            # Without the page's script, the chosen canned reply is sent as it is.
            canned = CannedReply.objects.filter(pk=post["canned"], active=True).first()
            body = selectors.render_canned(canned, case, request.user) if canned else body
        public = post.get("visibility", "public") != "note"
        then = post.get("then", "")
        photos = request.FILES.getlist("photos")
        tickets.reply(case=case, actor=request.user, body=body, public=public, then=then, photos=photos)
        if not public:
            return _("The internal note was added.")
        if then:
            return self._status_message(case)
        return _("The reply was sent to the customer.")

    def _assign(self, request, ticket):
        post = request.POST
        assignee = self._user(post.get("assignee", ""), "assignee")
        case = tickets.assign(
            case=ticket.case, actor=request.user, assignee=assignee, team=self._team(post.get("team"))
        )
        return _("Ticket %(number)s: assigned to %(who)s.") % {"number": case.number, "who": assignee or _("nobody")}

    def _triage(self, request, ticket):
        post = request.POST
        case = tickets.set_priority(
            case=ticket.case, actor=request.user, priority=post.get("priority", ""), category=post.get("category", "")
        )
        return _("Ticket %(number)s: priority and category saved.") % {"number": case.number}

    def _escalate(self, request, ticket):
        post = request.POST
        case = tickets.escalate(
            case=ticket.case,
            actor=request.user,
            reason=post.get("reason", "")[:NOTE_MAX_LENGTH],
            team=self._team(post.get("team")),
            assignee=self._user(post.get("assignee", ""), "assignee"),
            version=self._version(request),
        )
        return _("Ticket %(number)s was escalated to technical support.") % {"number": case.number}

    def _resolve(self, request, ticket):
        note = request.POST.get("note", "")[:NOTE_MAX_LENGTH]
        case = tickets.resolve(case=ticket.case, actor=request.user, note=note, version=self._version(request))
        return self._status_message(case)

    def _close(self, request, ticket):
        note = request.POST.get("note", "")[:NOTE_MAX_LENGTH]
        case = tickets.close(case=ticket.case, actor=request.user, note=note, version=self._version(request))
        return self._status_message(case)

    def _reopen(self, request, ticket):
        note = request.POST.get("note", "")[:NOTE_MAX_LENGTH]
        case = tickets.reopen(case=ticket.case, actor=request.user, note=note, version=self._version(request))
        return self._status_message(case)

    def _repair(self, request, ticket):
        post, case = request.POST, ticket.case
        raw = post.get("line", "")
        line = (
            OrderLine.objects.select_related("order", "product")
            .filter(pk=raw, order__customer_id=case.customer_id)
            .first()
            if raw.isdigit()
            else None
        )
        if line is None:
            raise ValidationFailed(fields={"line": [_("Choose an item the customer bought.")]})
        opened = tickets.open_repair(
            case=case,
            actor=request.user,
            line=line,
            fault=post.get("fault", ""),
            description=post.get("description", "")[:NOTE_MAX_LENGTH],
            remedy=post.get("remedy", ""),
            documents=post.getlist("documents"),
            mode=post.get("mode", ""),
        )
        return _("%(number)s was opened for %(product)s.") % {"number": opened.number, "product": line.product_name}

    # --- logging a phone call, an e-mail or a chat (R-SUP-1)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ContactForm(request.POST or None, admin_site=self.admin_site)
        if request.method == "POST" and form.is_valid():
            case = self._open_from(form, request.user)
            if case is not None:
                self.message_user(
                    request, _("Ticket %(number)s was opened.") % {"number": case.number}, messages.SUCCESS
                )
                return HttpResponseRedirect(self._url("change", case.pk))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Log a contact as a ticket"),
            "opts": self.opts,
            "form": form,
            "media": self.media + form.media,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/techsupport/ticket/add_contact.html", context)

    @staticmethod
    def _open_from(form: ContactForm, actor):
        data = form.cleaned_data
        customer, order = data["customer"], None
        if data["order"].strip():
            order = Order.objects.filter(number=data["order"].strip(), customer=customer).first()
            if order is None:
                form.add_error("order", _("This is not one of the customer's orders."))
                return None
        try:
            return tickets.open_ticket(
                customer=customer,
                actor=actor,
                subject=data["subject"],
                body=data["body"],
                category=data["category"],
                channel=data["channel"],
                priority=data["priority"],
                order=order,
            )
        except DomainError as error:
            for name, errors in error.fields.items():
                form.add_error(name if name in form.fields else None, list(map(str, errors)))
            if not error.fields:
                form.add_error(None, str(error.message))
            return None

    # --- SLA statistics

    def stats_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return stats.stats_page(request, self)
