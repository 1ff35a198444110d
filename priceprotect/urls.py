from django.urls import path

from . import views

app_name = "priceprotect"

urlpatterns = [
    path("price-protection/", views.claim_list, name="list"),
    path("price-protection/<str:number>/", views.order, name="order"),
]
