from django.urls import path

from . import api

urlpatterns = [
    path("cases/", api.CaseList.as_view(), name="api-case-list"),
    path("cases/<str:number>/", api.CaseDetail.as_view(), name="api-case-detail"),
    path("cases/<str:number>/transitions/", api.CaseTransition.as_view(), name="api-case-transition"),
    path("cases/<str:number>/notes/", api.CaseNote.as_view(), name="api-case-notes"),
    path("cases/<str:number>/attachments/", api.CaseAttachmentUpload.as_view(), name="api-case-attachments"),
    path("cases/<str:number>/feedback/", api.CaseFeedback.as_view(), name="api-case-feedback"),
    path("notifications/", api.NotificationList.as_view(), name="api-notification-list"),
    path("notifications/read/", api.NotificationsRead.as_view(), name="api-notifications-read"),
]
