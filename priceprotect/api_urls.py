from django.urls import path

from .api import claims, exposure, orders

CLAIM = "price-protection/claims/<str:number>/"

urlpatterns = [
    path("orders/<str:number>/price-protection/", orders.OrderPriceProtection.as_view(), name="api-priceprotect-order"),
    path("price-protection/claims/", claims.Claims.as_view(), name="api-priceprotect-claims"),
    path(CLAIM, claims.ClaimDetail.as_view(), name="api-priceprotect-claim"),
    path(CLAIM + "approve/", claims.ClaimApprove.as_view(), name="api-priceprotect-approve"),
    path(CLAIM + "reject/", claims.ClaimReject.as_view(), name="api-priceprotect-reject"),
    path("price-protection/exposure/", exposure.Exposure.as_view(), name="api-priceprotect-exposure"),
]
