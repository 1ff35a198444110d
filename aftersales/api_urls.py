"""/api/v1/: each area's routes live in its own api module."""

from django.urls import include, path

from aftersales.accounts.api import TokenView

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("", include("aftersales.orders.api_urls")),
    path("", include("aftersales.cases.api_urls")),
    # Feature apps
    path("", include("returns.api_urls")),
    path("", include("warranty.api_urls")),
    path("", include("priceprotect.api_urls")),
    path("", include("techsupport.api_urls")),
]
