"""API of technical support: tickets, and the knowledge base (`techsupport.kb`)."""

from django.urls import include, path

from .api import tickets

TICKET = "tickets/<str:number>/"

urlpatterns = [
    path("tickets/", tickets.Tickets.as_view(), name="api-tickets"),
    path(TICKET, tickets.TicketDetail.as_view(), name="api-ticket"),
    path(TICKET + "messages/", tickets.TicketMessages.as_view(), name="api-ticket-messages"),
    path(TICKET + "assign/", tickets.TicketAssign.as_view(), name="api-ticket-assign"),
    path(TICKET + "triage/", tickets.TicketTriage.as_view(), name="api-ticket-triage"),
    path(TICKET + "escalate/", tickets.TicketEscalate.as_view(), name="api-ticket-escalate"),
    path(TICKET + "resolve/", tickets.TicketResolve.as_view(), name="api-ticket-resolve"),
    path(TICKET + "close/", tickets.TicketClose.as_view(), name="api-ticket-close"),
    path(TICKET + "reopen/", tickets.TicketReopen.as_view(), name="api-ticket-reopen"),
    path("", include("techsupport.kb.api_urls")),
]
