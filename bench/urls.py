"""The project's URLs plus the baseline the HTTP bench compares every operation with: the least a DRF
endpoint does on this stack (routing, the middleware, content negotiation, a JSON response), no database."""

from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class Baseline(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("bench/baseline/", Baseline.as_view(), name="bench-baseline"),
    path("", include("aftersales.urls")),
]
