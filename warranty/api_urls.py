from django.urls import path

from .api import claims, coverage, steps

CLAIM = "warranty/claims/<str:number>/"

urlpatterns = [
    path("orders/<str:number>/coverage/", coverage.OrderCoverage.as_view(), name="api-warranty-coverage"),
    path("orders/<str:number>/lines/<int:line_id>/units/", coverage.LineUnits.as_view(), name="api-warranty-units"),
    path("storefront/units/", coverage.StorefrontUnits.as_view(), name="api-storefront-units"),
    path("warranty/claims/", claims.ClaimFile.as_view(), name="api-warranty-claims"),
    path(CLAIM, claims.ClaimDetail.as_view(), name="api-warranty-claim"),
    # The customer's steps.
    path(CLAIM + "cancel/", steps.ClaimCancel.as_view(), name="api-warranty-cancel"),
    path(CLAIM + "tracking/", steps.ClaimTracking.as_view(), name="api-warranty-tracking"),
    path(CLAIM + "accept-quote/", steps.ClaimAcceptQuote.as_view(), name="api-warranty-accept-quote"),
    path(CLAIM + "decline-quote/", steps.ClaimDeclineQuote.as_view(), name="api-warranty-decline-quote"),
    path(CLAIM + "appeal/", steps.ClaimAppeal.as_view(), name="api-warranty-appeal"),
    path(CLAIM + "confirm-receipt/", steps.ClaimConfirmReceipt.as_view(), name="api-warranty-confirm-receipt"),
    path(CLAIM + "take-replacement/", steps.ClaimTakeReplacement.as_view(), name="api-warranty-take-replacement"),
    # The shop's steps.
    path(CLAIM + "accept/", steps.ClaimAccept.as_view(), name="api-warranty-accept"),
    path(CLAIM + "book-visit/", steps.ClaimBookVisit.as_view(), name="api-warranty-book-visit"),
    path(CLAIM + "reject/", steps.ClaimReject.as_view(), name="api-warranty-reject"),
    path(CLAIM + "receive/", steps.ClaimReceive.as_view(), name="api-warranty-receive"),
    path(CLAIM + "start-diagnosis/", steps.ClaimStartDiagnosis.as_view(), name="api-warranty-start-diagnosis"),
    path(CLAIM + "diagnose/", steps.ClaimDiagnose.as_view(), name="api-warranty-diagnose"),
    path(CLAIM + "parts/", steps.ClaimParts.as_view(), name="api-warranty-parts"),
    path(CLAIM + "repaired/", steps.ClaimRepaired.as_view(), name="api-warranty-repaired"),
    path(CLAIM + "fail-quality-check/", steps.ClaimFailQualityCheck.as_view(), name="api-warranty-fail-quality-check"),
    path(CLAIM + "ship-back/", steps.ClaimShipBack.as_view(), name="api-warranty-ship-back"),
    path(
        CLAIM + "ship-back-unrepaired/",
        steps.ClaimShipBackUnrepaired.as_view(),
        name="api-warranty-ship-back-unrepaired",
    ),
    path(CLAIM + "ship-accessory/", steps.ClaimShipAccessory.as_view(), name="api-warranty-ship-accessory"),
    path(CLAIM + "payment/", steps.ClaimPayment.as_view(), name="api-warranty-payment"),
    path(CLAIM + "decide-appeal/", steps.ClaimDecideAppeal.as_view(), name="api-warranty-decide-appeal"),
]
