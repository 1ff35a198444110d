from django.urls import path

from . import views

app_name = "warranty"

urlpatterns = [
    path("warranty/", views.products, name="products"),
    path("warranty/lines/<int:line_id>/serial/", views.register_serial, name="register-serial"),
    path("warranty/lines/<int:line_id>/claim/", views.claim, name="claim"),
]
