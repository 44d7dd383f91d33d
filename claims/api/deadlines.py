"""GET /api/v1/deadlines/ and PATCH /api/v1/claims/{reference}/deadlines/{id}/ (design.md §3.3)."""

import datetime

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from claims.deadline_services import NotOpen, deadline_meet, deadline_waive
from claims.models import Deadline
from claims.selectors import deadlines_visible_to
from config.api import ErrorsSerializer
from config.api_errors import Conflict, validation_error_from


class DeadlineChangeOut(serializers.Serializer):
    at = serializers.DateTimeField()
    reason = serializers.CharField()
    before = serializers.JSONField()
    after = serializers.JSONField()


class DeadlineOut(serializers.Serializer):
    id = serializers.IntegerField()
    claim = serializers.CharField(source="claim.reference")
    kind = serializers.CharField()
    due_on = serializers.DateField(allow_null=True)
    status = serializers.CharField()
    suspended = serializers.BooleanField()
    non_working_day = serializers.BooleanField()
    source = serializers.CharField()
    history = DeadlineChangeOut(many=True)


class DeadlineFilters(serializers.Serializer):
    due_before = serializers.DateField(required=False)
    overdue = serializers.BooleanField(required=False, default=False)
    kind = serializers.CharField(required=False)
    status = serializers.ChoiceField(choices=Deadline.DeadlineStatus.values, required=False)


class DeadlineList(APIView):
    """Deadlines of the claims you may see, soonest first."""

    @extend_schema(
        parameters=[
            OpenApiParameter("due_before", datetime.date),
            OpenApiParameter("overdue", bool),
            OpenApiParameter("kind", str),
            OpenApiParameter("status", str, enum=Deadline.DeadlineStatus.values),
        ],
        responses={200: DeadlineOut(many=True), 400: ErrorsSerializer, 401: ErrorsSerializer},
    )
    def get(self, request):
        filters = DeadlineFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        deadlines = deadlines_visible_to(user=request.user)
        if "due_before" in wanted:
            deadlines = deadlines.filter(due_on__lt=wanted["due_before"])
        if wanted["overdue"]:
            # Past due and unmet: the sweep may not have marked it missed yet.
            deadlines = deadlines.filter(
                status__in=["open", "missed"], due_on__lt=timezone.localdate()
            )
        if "kind" in wanted:
            deadlines = deadlines.filter(kind=wanted["kind"])
        if "status" in wanted:
            deadlines = deadlines.filter(status=wanted["status"])
        deadlines = deadlines.select_related("claim").prefetch_related("history")
        return Response(DeadlineOut(deadlines.order_by("due_on", "pk")[:500], many=True).data)


class DeadlinePatchIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=["met", "waived"])
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ClaimDeadlineDetail(APIView):
    @extend_schema(
        request=DeadlinePatchIn,
        responses={
            200: DeadlineOut,
            400: ErrorsSerializer,
            401: ErrorsSerializer,
            403: ErrorsSerializer,
            404: ErrorsSerializer,
            409: ErrorsSerializer,
        },
    )
    def patch(self, request, reference: str, pk: int):
        # Another organisation's claim is a 404, like one that does not exist.
        deadline = get_object_or_404(
            deadlines_visible_to(user=request.user).select_related("claim"),
            pk=pk,
            claim__reference=reference,
        )
        change = DeadlinePatchIn(data=request.data)
        change.is_valid(raise_exception=True)
        try:
            if change.validated_data["status"] == "waived":
                deadline = deadline_waive(
                    deadline=deadline, actor=request.user, reason=change.validated_data["note"]
                )
            else:
                deadline = deadline_meet(
                    deadline=deadline, actor=request.user, note=change.validated_data["note"]
                )
        except NotOpen as error:
            raise Conflict(str(error), code=error.code) from None
        except DjangoPermissionDenied as error:
            raise exceptions.PermissionDenied(str(error)) from None
        except DjangoValidationError as error:
            raise validation_error_from(error) from None
        return Response(DeadlineOut(Deadline.objects.get(pk=deadline.pk)).data)
