from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from aftersales.accounts.views import set_language
from aftersales.common.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("accounts/", include("aftersales.accounts.urls")),
    path("api/v1/", include("aftersales.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file, so the page needs no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # templates/drf_spectacular/redoc.html: ReDoc started by its <redoc> element, no inline script or web fonts.
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("", include("aftersales.portal_urls")),
    path("", include("returns.urls")),
    path("", include("warranty.urls")),
    path("", include("priceprotect.urls")),
    path("", include("techsupport.urls")),
]

# JSON under /api/, Django's pages elsewhere (aftersales/common/error_pages.py); the database unreachable
# is a 503 with Retry-After (aftersales/common/unavailable.py), anything else a plain 500.
handler400 = "aftersales.common.error_pages.bad_request"
handler403 = "aftersales.common.error_pages.permission_denied"
handler404 = "aftersales.common.error_pages.page_not_found"
handler500 = "aftersales.common.unavailable.server_error"

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
