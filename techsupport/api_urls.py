"""API of technical support: tickets, and the knowledge base (`techsupport.kb`)."""

from django.urls import include, path

urlpatterns = [
    path("", include("techsupport.kb.api_urls")),
]
