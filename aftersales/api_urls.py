"""/api/v1/: each area's routes live in its own api module."""

from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("", include("aftersales.orders.api_urls")),
    path("", include("aftersales.cases.api_urls")),
    # Feature apps
    path("", include("returns.api_urls")),
    path("", include("warranty.api_urls")),
    path("", include("priceprotect.api_urls")),
    path("", include("techsupport.api_urls")),
]
