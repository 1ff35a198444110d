"""Portal pages of technical support: tickets (`support:…`), and the knowledge base (`kb:…`)."""

from django.urls import include, path

from . import views

tickets = [
    path("support/tickets/", views.ticket_list, name="tickets"),
    path("support/ask/", views.new_ticket, name="new"),
    path("support/tickets/<str:number>/reply/", views.reply, name="reply"),
]

urlpatterns = [
    path("", include((tickets, "support"))),
    path("", include("techsupport.kb.urls")),
]
