from django.urls import path

from . import views

app_name = "warranty"

urlpatterns = [
    path("warranty/", views.products, name="products"),
    path("warranty/lines/<int:line_id>/serial/", views.register_serial, name="register-serial"),
    path("warranty/lines/<int:line_id>/claim/", views.claim, name="claim"),
    path("cases/<str:number>/warranty/tracking/", views.tracking, name="tracking"),
    path("cases/<str:number>/warranty/accept-quote/", views.accept_quote, name="accept-quote"),
    path("cases/<str:number>/warranty/decline-quote/", views.decline_quote, name="decline-quote"),
    path("cases/<str:number>/warranty/appeal/", views.appeal, name="appeal"),
    path("cases/<str:number>/warranty/take-replacement/", views.take_replacement, name="take-replacement"),
    path("cases/<str:number>/warranty/confirm-receipt/", views.confirm_receipt, name="confirm-receipt"),
]
