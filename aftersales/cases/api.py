"""Cases over the API: list and detail with the timeline, attachments, notes, transitions, feedback,
notifications. Thin: parse → call a service → render."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.common.api import ID_MAX, api_time
from aftersales.common.errors import NotAllowed

from . import attachments, notifications, selectors, services
from .models import Attachment, Case, CaseEvent, FeedbackReason, Notification


class EventOutput(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = CaseEvent
        fields = ["at", "type", "actor", "from_status", "to_status", "note", "public"]


class AttachmentOutput(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "id",
            "original_name",
            "content_type",
            "size",
            "width",
            "height",
            "uploaded_at",
            "purged_at",
            "download_url",
        ]

    def get_download_url(self, obj) -> str | None:
        """None once the file was removed after the retention period (`purged_at`)."""
        return None if obj.purged_at else reverse("portal:attachment-download", args=[obj.pk])


class CaseOutput(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number", default=None, allow_null=True)  # a ticket may have none
    status_label = serializers.CharField(source="get_status_display")
    kind_label = serializers.CharField(source="get_kind_display")

    class Meta:
        model = Case
        fields = [
            "number",
            "kind",
            "kind_label",
            "status",
            "status_label",
            "subject",
            "order",
            "opened_at",
            "closed_at",
            "deadline_at",
            "deadline_action",
        ]


class CaseDetailOutput(CaseOutput):
    events = serializers.SerializerMethodField()
    attachments = AttachmentOutput(many=True, read_only=True)
    available_transitions = serializers.SerializerMethodField()

    class Meta(CaseOutput.Meta):
        fields = [*CaseOutput.Meta.fields, "events", "attachments", "available_transitions"]

    def get_events(self, obj) -> list[dict]:
        user = self.context["request"].user
        return EventOutput(selectors.case_timeline(user, obj), many=True).data

    def get_available_transitions(self, obj) -> list[str]:
        return [t.name for t in selectors.available_transitions(self.context["request"].user, obj)]


def case_detail(case: Case, user) -> dict:
    """CaseDetailOutput's data, built directly: its three model serializers' fields, built for every
    response, cost more than the case (tests/cases/test_api.py checks that the two agree)."""
    return {
        "number": case.number,
        "kind": case.kind,
        "kind_label": str(case.get_kind_display()),
        "status": case.status,
        "status_label": str(case.get_status_display()),
        "subject": case.subject,
        "order": case.order.number if case.order_id else None,
        "opened_at": api_time(case.opened_at),
        "closed_at": api_time(case.closed_at),
        "deadline_at": api_time(case.deadline_at),
        "deadline_action": case.deadline_action,
        "events": [
            {
                "at": api_time(event.at),
                "type": event.type,
                "actor": event.actor_label,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "note": event.note,
                "public": event.public,
            }
            for event in selectors.case_timeline(user, case)
        ],
        "attachments": [
            {
                "id": a.pk,
                "original_name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "width": a.width,
                "height": a.height,
                "uploaded_at": api_time(a.uploaded_at),
                "purged_at": api_time(a.purged_at) if a.purged_at else None,
                "download_url": None if a.purged_at else reverse("portal:attachment-download", args=[a.pk]),
            }
            for a in case.attachments.all()
        ],
        "available_transitions": [t.name for t in selectors.available_transitions(user, case)],
    }


def _visible_case(request, number) -> Case:
    return get_object_or_404(selectors.case_detail_queryset(request.user), number=number)


class CaseList(generics.ListAPIView):
    serializer_class = CaseOutput
    filterset_fields = ["kind", "status"]

    def get_queryset(self):
        return selectors.cases_visible_to(self.request.user).order_by("-opened_at", "-id")


class CaseDetail(APIView):
    @extend_schema(responses=CaseDetailOutput)
    def get(self, request, number):
        return Response(case_detail(_visible_case(request, number), request.user))


class CaseTransition(APIView):
    class CaseTransitionInput(serializers.Serializer):
        name = serializers.CharField(max_length=64)
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    @extend_schema(request=CaseTransitionInput, responses=CaseDetailOutput)
    def post(self, request, number):
        case = _visible_case(request, number)
        data = self._validated(request)
        case = services.transition(case=case, name=data["name"], actor=request.user, note=data["note"], generic=True)
        return Response(case_detail(case, request.user))

    def _validated(self, request):
        serializer = self.CaseTransitionInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class CaseNote(APIView):
    class CaseNoteInput(serializers.Serializer):
        note = serializers.CharField(max_length=5000)
        public = serializers.BooleanField(default=True)

    @extend_schema(request=CaseNoteInput, responses={201: EventOutput})
    def post(self, request, number):
        case = _visible_case(request, number)
        serializer = self.CaseNoteInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = services.add_note(case=case, actor=request.user, generic=True, **serializer.validated_data)
        return Response(EventOutput(event).data, status=status.HTTP_201_CREATED)


class CaseAttachmentUpload(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class CaseAttachmentInput(serializers.Serializer):
        file = serializers.FileField()

    @extend_schema(request={"multipart/form-data": CaseAttachmentInput}, responses={201: AttachmentOutput})
    def post(self, request, number):
        case = _visible_case(request, number)
        if not attachments.may_attach(request.user, case):  # before validation, so its errors tell nothing
            raise NotAllowed()
        serializer = self.CaseAttachmentInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        attachment = attachments.add_attachment(
            case=case, uploaded_by=request.user, upload=serializer.validated_data["file"]
        )
        return Response(AttachmentOutput(attachment).data, status=status.HTTP_201_CREATED)


class CaseFeedback(APIView):
    """R-FB-1: `reason` (what mattered most) is required for a rating of 3 or less."""

    class CaseFeedbackInput(serializers.Serializer):
        rating = serializers.IntegerField(min_value=1, max_value=5)
        reason = serializers.ChoiceField(choices=FeedbackReason.choices, required=False, allow_blank=True, default="")
        comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    class CaseFeedbackOutput(serializers.Serializer):
        rating = serializers.IntegerField()
        reason = serializers.CharField()
        reason_label = serializers.CharField(source="get_reason_display")
        comment = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(request=CaseFeedbackInput, responses={201: CaseFeedbackOutput})
    def post(self, request, number):
        case = _visible_case(request, number)
        serializer = self.CaseFeedbackInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        feedback = services.leave_feedback(case=case, customer=request.user, **serializer.validated_data)
        return Response(self.CaseFeedbackOutput(feedback).data, status=status.HTTP_201_CREATED)


class NotificationOutput(serializers.ModelSerializer):
    case = serializers.CharField(source="case.number", default=None, allow_null=True)  # notices about no case

    class Meta:
        model = Notification
        fields = ["id", "title", "body", "case", "created_at", "read_at"]


class NotificationList(generics.ListAPIView):
    serializer_class = NotificationOutput

    queryset = Notification.objects.none()  # for the schema generator; the real one is per user

    def get_queryset(self):
        return Notification.objects.filter(user=self.request.user).select_related("case").order_by("-created_at")


class NotificationsRead(APIView):
    class NotificationsReadInput(serializers.Serializer):
        ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=ID_MAX), required=False, max_length=1000
        )

    class NotificationsReadOutput(serializers.Serializer):
        marked = serializers.IntegerField()

    @extend_schema(request=NotificationsReadInput, responses=NotificationsReadOutput)
    def post(self, request):
        serializer = self.NotificationsReadInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = notifications.mark_read(user=request.user, ids=serializer.validated_data.get("ids"))
        return Response({"marked": marked})
