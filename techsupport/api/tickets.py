"""Support tickets over the API (R-SUP-1 … R-SUP-4): customers open tickets and write on their own;
staff (techsupport.work_ticket) see the queue sorted by SLA deadline and answer, assign, triage,
escalate, resolve and close. Every write is one `services.tickets` call; refusals are 400/403/409
with a `code`, another customer's ticket a 404."""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import F
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.accounts.security import limit_customer
from aftersales.common.api import ID_MAX, valid
from aftersales.common.errors import NotAllowed

from ..models import Category, Channel, Priority, SlaFlag, Team, Ticket
from ..services import tickets
from ..workflow import STATUSES, WORK

TEXT_MAX = tickets.BODY_MAX


def is_desk(user) -> bool:
    return user.is_authenticated and user.is_staff and user.has_perm(WORK)


def visible_tickets(user):
    qs = Ticket.objects.select_related("case__customer", "case__assignee", "case__order", "team", "product")
    if not user.is_authenticated:
        return qs.none()
    return qs if is_desk(user) else qs.filter(case__customer=user)


class TicketMessageOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    by = serializers.CharField(source="actor_label")
    kind = serializers.SerializerMethodField(help_text="customer, agent, note (internal), or event.")
    text = serializers.CharField(source="note")
    status = serializers.CharField(source="to_status", help_text="The status entered, for a status change.")

    def get_kind(self, event) -> str:
        return event.data.get("reply") or ("customer" if event.type == "opened" else "event")


class TicketSlaOutput(serializers.Serializer):
    policy = serializers.CharField(source="sla_policy.name", default=None, allow_null=True)
    first_response_due_at = serializers.DateTimeField(allow_null=True)
    first_responded_at = serializers.DateTimeField(allow_null=True)
    next_response_due_at = serializers.DateTimeField(allow_null=True)
    resolution_due_at = serializers.DateTimeField(allow_null=True, help_text="None while paused.")
    due_at = serializers.DateTimeField(source="sla_due_at", allow_null=True)
    flag = serializers.ChoiceField(source="sla_flag", choices=SlaFlag.choices)
    first_response_breached = serializers.BooleanField()
    next_response_breached = serializers.BooleanField()
    resolution_breached = serializers.BooleanField()


class TicketOutput(serializers.Serializer):
    number = serializers.CharField(source="case.number")
    status = serializers.CharField(source="case.status")
    status_label = serializers.CharField(source="case.get_status_display")
    subject = serializers.CharField(source="case.subject")
    category = serializers.ChoiceField(choices=Category.choices)
    priority = serializers.ChoiceField(choices=Priority.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    team = serializers.CharField(source="team.code")
    assignee = serializers.CharField(source="case.assignee", default=None, allow_null=True)
    order = serializers.CharField(source="case.order.number", default=None, allow_null=True)
    product = serializers.CharField(source="product.sku", default=None, allow_null=True)
    related_case = serializers.CharField(source="related_case.number", default=None, allow_null=True)
    opened_at = serializers.DateTimeField(source="case.opened_at")
    closed_at = serializers.DateTimeField(source="case.closed_at", allow_null=True)
    version = serializers.IntegerField(source="case.version")
    sla = TicketSlaOutput(source="*")


class TicketDetailOutput(TicketOutput):
    messages = serializers.SerializerMethodField()

    def get_messages(self, ticket) -> list[dict]:
        events = ticket.case.events.select_related("actor", "case").order_by("at", "id")
        if not is_desk(self.context["request"].user):
            events = events.filter(public=True)
        return TicketMessageOutput(events, many=True).data


def render(request, case, status_code=status.HTTP_200_OK) -> Response:
    ticket = visible_tickets(request.user).select_related("sla_policy", "related_case").get(pk=case.pk)
    return Response(TicketDetailOutput(ticket, context={"request": request}).data, status=status_code)


def ticket_case(request, number):
    return get_object_or_404(visible_tickets(request.user), case__number=number).case


def desk_only(request):
    if not is_desk(request.user):
        raise NotAllowed()


class TicketFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(field_name="case__status", choices=list(STATUSES.items()))
    team = django_filters.CharFilter(field_name="team__code")
    flag = django_filters.ChoiceFilter(field_name="sla_flag", choices=SlaFlag.choices)
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    category = django_filters.ChoiceFilter(choices=Category.choices)
    mine = django_filters.BooleanFilter(method="filter_mine", help_text="Staff: assigned to me.")

    def filter_mine(self, queryset, name, value):
        return queryset.filter(case__assignee=self.request.user) if value else queryset


class Tickets(generics.ListAPIView):
    """Your tickets (newest first), or for staff the queue sorted by SLA deadline; and opening one."""

    serializer_class = TicketOutput
    filterset_class = TicketFilter

    class TicketInput(serializers.Serializer):
        subject = serializers.CharField(max_length=tickets.SUBJECT_MAX)
        body = serializers.CharField(max_length=TEXT_MAX)
        category = serializers.ChoiceField(choices=Category.choices)
        priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
        order = serializers.CharField(max_length=64, required=False, help_text="An order number of the customer's.")
        related_case = serializers.CharField(max_length=32, required=False, help_text="A case number.")
        customer = serializers.IntegerField(
            min_value=1, max_value=ID_MAX, required=False, help_text="Staff logging a contact: the customer's id."
        )
        channel = serializers.ChoiceField(
            choices=Channel.choices, default=Channel.PORTAL, help_text="Staff: phone, email or chat."
        )

    def get_queryset(self):
        qs = visible_tickets(self.request.user)
        if is_desk(self.request.user):
            return qs.order_by(F("sla_due_at").asc(nulls_last=True), "case__opened_at", "pk")
        return qs.order_by("-case__opened_at", "-pk")

    @extend_schema(description="Customers: their tickets. Staff: every ticket, soonest SLA deadline first.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=TicketInput,
        responses={201: TicketDetailOutput},
        description="R-SUP-1: open a ticket (customers: about their own order or case; staff: a phone, "
        "e-mail or chat contact for `customer`). 400 with field messages for bad input.",
    )
    def post(self, request):
        data = valid(self.TicketInput, request.data)
        customer = request.user
        if "customer" in data:
            desk_only(request)
            customer = get_object_or_404(get_user_model(), pk=data["customer"], is_staff=False)
        order = related = None
        if data.get("order"):
            order = customer.orders.filter(number=data["order"]).first()
            if order is None:
                raise serializers.ValidationError({"order": [_("Choose one of the customer's orders.")]})
        if data.get("related_case"):
            related = customer.cases.filter(number=data["related_case"]).first()
            if related is None:
                raise serializers.ValidationError({"related_case": [_("Choose one of the customer's cases.")]})
        limit_customer(request)
        case = tickets.open_ticket(
            customer=customer,
            actor=request.user,
            subject=data["subject"],
            body=data["body"],
            category=data["category"],
            priority=data["priority"],
            channel=data["channel"],
            order=order,
            related_case=related,
        )
        return render(request, case, status.HTTP_201_CREATED)


class TicketDetail(APIView):
    @extend_schema(responses=TicketDetailOutput, description="The ticket and its messages (staff: with notes).")
    def get(self, request, number):
        return render(request, ticket_case(request, number))


class TicketMessages(APIView):
    """Write on a ticket: the customer's message (resumes a paused clock, reopens a resolved ticket), or
    staff's public answer or internal note, optionally moving it on (`then`)."""

    class MessageInput(serializers.Serializer):
        text = serializers.CharField(max_length=TEXT_MAX)
        public = serializers.BooleanField(default=True, help_text="Staff: false for an internal note.")
        then = serializers.ChoiceField(
            choices=[("", "nothing"), ("ask_customer", "wait for the customer"), ("resolve", "resolve")],
            default="",
            help_text="Staff, with a public answer.",
        )

    @extend_schema(request=MessageInput, responses={201: TicketDetailOutput})
    def post(self, request, number):
        case = ticket_case(request, number)
        data = valid(self.MessageInput, request.data)
        if request.user.pk == case.customer_id:
            tickets.customer_reply(case=case, customer=request.user, body=data["text"])
        else:
            tickets.reply(case=case, actor=request.user, body=data["text"], public=data["public"], then=data["then"])
        return render(request, case, status.HTTP_201_CREATED)


class TicketAssign(APIView):
    class AssignInput(serializers.Serializer):
        assignee = serializers.IntegerField(min_value=1, max_value=ID_MAX, allow_null=True)
        team = serializers.CharField(max_length=32, required=False)

    @extend_schema(request=AssignInput, responses=TicketDetailOutput, description="Staff: assignee and/or team.")
    def post(self, request, number):
        desk_only(request)
        case = ticket_case(request, number)
        data = valid(self.AssignInput, request.data)
        assignee = team = None
        if data["assignee"] is not None:
            assignee = get_object_or_404(get_user_model(), pk=data["assignee"])
        if data.get("team"):
            team = get_object_or_404(Team, code=data["team"])
        tickets.assign(case=case, actor=request.user, assignee=assignee, team=team)
        return render(request, case)


class TicketTriage(APIView):
    class TriageInput(serializers.Serializer):
        priority = serializers.ChoiceField(choices=Priority.choices)
        category = serializers.ChoiceField(choices=Category.choices, required=False)

    @extend_schema(
        request=TriageInput, responses=TicketDetailOutput, description="Staff: priority and category (SLA recomputed)."
    )
    def post(self, request, number):
        desk_only(request)
        case = ticket_case(request, number)
        data = valid(self.TriageInput, request.data)
        tickets.set_priority(
            case=case, actor=request.user, priority=data["priority"], category=data.get("category", "")
        )
        return render(request, case)


class TicketEscalate(APIView):
    class EscalateInput(serializers.Serializer):
        reason = serializers.CharField(max_length=2000)
        version = serializers.IntegerField(
            min_value=1, max_value=ID_MAX, required=False, help_text="The version you saw: 409 if it changed."
        )
        team = serializers.CharField(max_length=32, required=False, help_text="A tier-2 team; default: the first.")

    @extend_schema(
        request=EscalateInput,
        responses=TicketDetailOutput,
        description="R-SUP-2: first line hands the ticket to technical support with a reason (400 R-SUP-2 "
        "if it is there already).",
    )
    def post(self, request, number):
        desk_only(request)
        case = ticket_case(request, number)
        data = valid(self.EscalateInput, request.data)
        team = get_object_or_404(Team, code=data["team"]) if data.get("team") else None
        tickets.escalate(case=case, actor=request.user, reason=data["reason"], team=team, version=data.get("version"))
        return render(request, case)


class TicketStep(APIView):
    """Staff: resolve (with an optional answer), close or reopen."""

    step = ""

    class StepInput(serializers.Serializer):
        note = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")
        version = serializers.IntegerField(
            min_value=1, max_value=ID_MAX, required=False, help_text="The version you saw: 409 if it changed."
        )

    @extend_schema(request=StepInput, responses=TicketDetailOutput)
    def post(self, request, number):
        desk_only(request)
        case = ticket_case(request, number)
        data = valid(self.StepInput, request.data)
        getattr(tickets, self.step)(case=case, actor=request.user, note=data["note"], version=data.get("version"))
        return render(request, case)


class TicketResolve(TicketStep):
    step = "resolve"


class TicketClose(TicketStep):
    step = "close"


class TicketReopen(TicketStep):
    step = "reopen"
