"""The customer portal: server-rendered pages, one namespace across the core apps."""

from django.urls import path

from aftersales.cases import views as case_views
from aftersales.finance import views as finance_views
from aftersales.orders import views as order_views

app_name = "portal"

urlpatterns = [
    path("", order_views.home, name="home"),
    path("orders/", order_views.order_list, name="order-list"),
    path("orders/<str:number>/", order_views.order_detail, name="order-detail"),
    path("cases/", case_views.case_list, name="case-list"),
    path("cases/timeline/", case_views.timeline, name="timeline"),
    path("cases/<str:number>/", case_views.case_detail, name="case-detail"),
    path("cases/<str:number>/feedback/", case_views.case_feedback, name="case-feedback"),
    path("cases/<str:number>/attachments/", case_views.case_attachment_upload, name="case-attachment-upload"),
    path("attachments/<int:pk>/", case_views.attachment_download, name="attachment-download"),
    path("notifications/", case_views.notification_list, name="notification-list"),
    path("account/", finance_views.account, name="account"),
]
