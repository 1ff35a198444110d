from django.urls import path

from . import api

urlpatterns = [
    path("orders/<str:number>/options/", api.OrderOptions.as_view(), name="api-order-options"),
    path("returns/", api.ReturnSubmit.as_view(), name="api-return-submit"),
    path("returns/<str:number>/", api.ReturnDetail.as_view(), name="api-return-detail"),
    path("returns/<str:number>/cancel/", api.ReturnCancel.as_view(), name="api-return-cancel"),
    path("returns/<str:number>/tracking/", api.ReturnTracking.as_view(), name="api-return-tracking"),
    path("returns/<str:number>/approve/", api.ReturnApprove.as_view(), name="api-return-approve"),
    path("returns/<str:number>/reject/", api.ReturnReject.as_view(), name="api-return-reject"),
    path("returns/<str:number>/receive/", api.ReturnReceive.as_view(), name="api-return-receive"),
    path("returns/<str:number>/inspect/", api.ReturnInspect.as_view(), name="api-return-inspect"),
    path("returns/<str:number>/send-back/", api.ReturnSendBack.as_view(), name="api-return-send-back"),
    path("returns/<str:number>/ship/", api.ReturnShip.as_view(), name="api-return-ship"),
    path(
        "returns/<str:number>/difference-paid/", api.ReturnDifferencePaid.as_view(), name="api-return-difference-paid"
    ),
    path(
        "returns/<str:number>/confirm-receipt/", api.ReturnConfirmReceipt.as_view(), name="api-return-confirm-receipt"
    ),
    path("returns/<str:number>/requeue-refund/", api.ReturnRequeueRefund.as_view(), name="api-return-requeue-refund"),
    path(
        "returns/<str:number>/close-without-refund/",
        api.ReturnCloseWithoutRefund.as_view(),
        name="api-return-close-without-refund",
    ),
    path("returns/<str:number>/label/", api.ReturnLabel.as_view(), name="api-return-label"),
]
