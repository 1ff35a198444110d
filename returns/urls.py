from django.urls import path

from . import views

app_name = "returns"

urlpatterns = [
    path("orders/<str:number>/after-sales/", views.order_options, name="order-options"),
    path("orders/<str:number>/after-sales/apply/", views.apply, name="apply"),
    path("cases/<str:number>/label/", views.label, name="label"),
    path("cases/<str:number>/label.pdf", views.label_pdf, name="label-pdf"),
    path("cases/<str:number>/tracking/", views.tracking, name="tracking"),
]
