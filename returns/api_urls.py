from django.urls import path

from . import api

urlpatterns = [
    path("orders/<str:number>/options/", api.OrderOptions.as_view(), name="api-order-options"),
]
