"""GET /api/v1/notifications/ (your own) and POST /api/v1/notifications/{id}/read/."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from claims.models import Notification
from claims.notification_services import notification_mark_read
from config.api import ErrorsSerializer


class NotificationOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    claim = serializers.CharField(source="claim.reference", allow_null=True, default=None)
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    read = serializers.SerializerMethodField()

    def get_read(self, notification) -> bool:
        return notification.read_at is not None


class NotificationList(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("unread", bool)],
        responses={200: NotificationOut(many=True), 401: ErrorsSerializer},
    )
    def get(self, request):
        notifications = Notification.objects.filter(recipient=request.user).select_related("claim")
        if request.query_params.get("unread") in ("true", "1"):
            notifications = notifications.filter(read_at__isnull=True)
        return Response(NotificationOut(notifications[:200], many=True).data)


class NotificationRead(APIView):
    @extend_schema(
        request=None,
        responses={200: NotificationOut, 401: ErrorsSerializer, 404: ErrorsSerializer},
    )
    def post(self, request, pk: int):
        # Somebody else's notification is a 404, like one that does not exist.
        notification = get_object_or_404(
            Notification.objects.select_related("claim"), pk=pk, recipient=request.user
        )
        return Response(NotificationOut(notification_mark_read(notification=notification)).data)
