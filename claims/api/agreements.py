"""Agreements and the re-routing they cause (design.md §3.3). Caseworkers only."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from claims.models import RoutingJob
from claims.routing_services import agreement_moves_preview, routing_job_start
from config.api import ErrorsSerializer
from handlers.api_permissions import IsCaseworker
from members.models import DefenceOrganisation
from schemes.models import ElsAgreement
from schemes.services import agreement_create, agreement_update


class AgreementOut(serializers.Serializer):
    id = serializers.IntegerField()
    organisation = serializers.CharField(source="organisation.code")
    agreed_on = serializers.DateField()
    handover_on = serializers.DateField(allow_null=True)
    notes = serializers.CharField()


class OrganisationCodeField(serializers.SlugRelatedField):
    """An organisation by its code. A code that could never be stored (a NUL character, which
    PostgreSQL refuses in text) is simply not found, rather than a database error."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", ""))
        return super().to_internal_value(data)


class AgreementIn(serializers.Serializer):
    organisation = OrganisationCodeField(
        slug_field="code", queryset=DefenceOrganisation.objects.all()
    )
    agreed_on = serializers.DateField()
    handover_on = serializers.DateField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs):
        agreed_on = attrs.get("agreed_on", getattr(self.instance, "agreed_on", None))
        handover_on = attrs.get("handover_on", getattr(self.instance, "handover_on", None))
        if agreed_on and handover_on and handover_on < agreed_on:
            raise serializers.ValidationError(
                {
                    "handover_on": serializers.ErrorDetail(
                        "The handover cannot come before the agreement.", code="before_agreement"
                    )
                }
            )
        organisation = attrs.get("organisation", getattr(self.instance, "organisation", None))
        clash = ElsAgreement.objects.filter(organisation=organisation, agreed_on=agreed_on)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(
                {
                    "agreed_on": serializers.ErrorDetail(
                        f"{organisation.code} already has an agreement on {agreed_on}.",
                        code="duplicate",
                    )
                }
            )
        return attrs


def _agreements():
    return ElsAgreement.objects.select_related("organisation")


class AgreementList(APIView):
    permission_classes = [IsCaseworker]

    @extend_schema(
        responses={200: AgreementOut(many=True), 401: ErrorsSerializer, 403: ErrorsSerializer}
    )
    def get(self, request):
        return Response(AgreementOut(_agreements(), many=True).data)

    @extend_schema(
        request=AgreementIn,
        responses={
            201: AgreementOut,
            400: ErrorsSerializer,
            401: ErrorsSerializer,
            403: ErrorsSerializer,
        },
    )
    def post(self, request):
        data = AgreementIn(data=request.data)
        data.is_valid(raise_exception=True)
        agreement = agreement_create(actor=request.user, **data.validated_data)
        return Response(AgreementOut(agreement).data, status=status.HTTP_201_CREATED)


class AgreementDetail(APIView):
    permission_classes = [IsCaseworker]

    @extend_schema(
        responses={
            200: AgreementOut,
            401: ErrorsSerializer,
            403: ErrorsSerializer,
            404: ErrorsSerializer,
        }
    )
    def get(self, request, pk: int):
        return Response(AgreementOut(get_object_or_404(_agreements(), pk=pk)).data)

    @extend_schema(
        request=AgreementIn,
        responses={
            200: AgreementOut,
            400: ErrorsSerializer,
            401: ErrorsSerializer,
            403: ErrorsSerializer,
            404: ErrorsSerializer,
        },
    )
    def patch(self, request, pk: int):
        agreement = get_object_or_404(_agreements(), pk=pk)
        data = AgreementIn(agreement, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        agreement = agreement_update(actor=request.user, agreement=agreement, **data.validated_data)
        return Response(AgreementOut(agreement).data)


PlacementOut = inline_serializer(
    "Placement",
    {
        "schemes": serializers.ListField(child=serializers.CharField()),
        "lead_handler": serializers.CharField(allow_null=True),
    },
)


class AgreementPreview(APIView):
    """How many open claims applying this agreement would move, by change, with a sample."""

    permission_classes = [IsCaseworker]

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "AgreementPreview",
                {
                    "moves": serializers.IntegerField(),
                    "by_change": inline_serializer(
                        "AgreementChange",
                        {
                            "from": PlacementOut,
                            "to": PlacementOut,
                            "count": serializers.IntegerField(),
                        },
                        many=True,
                    ),
                    "sample": serializers.ListField(child=serializers.CharField()),
                },
            ),
            401: ErrorsSerializer,
            403: ErrorsSerializer,
            404: ErrorsSerializer,
        },
    )
    def post(self, request, pk: int):
        agreement = get_object_or_404(_agreements(), pk=pk)
        return Response(
            agreement_moves_preview(agreement=agreement, decision_date=timezone.localdate())
        )


JobOut = inline_serializer(
    "RoutingJob",
    {
        "job": serializers.IntegerField(),
        "kind": serializers.CharField(),
        "status": serializers.CharField(),
        "decision_date": serializers.DateField(),
        "rows_total": serializers.IntegerField(),
        "rows_done": serializers.IntegerField(),
        "moved": serializers.IntegerField(),
        "error": serializers.CharField(),
        "url": serializers.CharField(),
    },
)


def _job_body(job: RoutingJob) -> dict:
    return {
        "job": job.pk,
        "kind": job.kind,
        "status": job.status,
        "decision_date": job.decision_date,
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "moved": job.moved,
        "error": job.error,
        "url": reverse("api-routing-job", args=[job.pk]),
    }


class AgreementApply(APIView):
    """Re-route the affected open claims as a background job; poll the job URL for progress."""

    permission_classes = [IsCaseworker]

    @extend_schema(
        request=None,
        responses={
            202: JobOut,
            401: ErrorsSerializer,
            403: ErrorsSerializer,
            404: ErrorsSerializer,
        },
    )
    def post(self, request, pk: int):
        agreement = get_object_or_404(_agreements(), pk=pk)
        job = routing_job_start(
            kind=RoutingJob.Kind.AGREEMENT, actor=request.user, agreement=agreement
        )
        job.refresh_from_db()
        body = _job_body(job)
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class RoutingJobDetail(APIView):
    permission_classes = [IsCaseworker]

    @extend_schema(
        responses={200: JobOut, 401: ErrorsSerializer, 403: ErrorsSerializer, 404: ErrorsSerializer}
    )
    def get(self, request, pk: int):
        return Response(_job_body(get_object_or_404(RoutingJob, pk=pk)))
