from django.urls import path

from . import views

app_name = "returns"

urlpatterns = [
    path("orders/<str:number>/after-sales/", views.order_options, name="order-options"),
]
