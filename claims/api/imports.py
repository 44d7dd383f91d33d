"""POST /api/v1/imports/{kind}/ and GET /api/v1/imports/batches/[{id}/] (design.md §3.1).

The body is read here as a raw stream and handed to claims.import_services; DRF never parses
it, so a 100,000-row CSV is not held in memory as a whole."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from claims import import_records as spec
from claims.import_parsing import BodyError
from claims.import_services import (
    IdempotencyConflict,
    PayloadTooLarge,
    import_submit,
    may_import,
)
from claims.models import ImportBatch
from config.api import ErrorSerializer, ErrorsSerializer
from config.api_errors import api_error
from handlers.permissions import is_caseworker

IDEMPOTENCY_KEY_MAX = ImportBatch._meta.get_field("idempotency_key").max_length


class MayImport(BasePermission):
    message = "Only importers (systems) and NHS Resolution caseworkers send bulk imports."

    def has_permission(self, request, view) -> bool:
        return may_import(request.user)


def _schema_field(field: spec.Field) -> serializers.Field:
    """One spec field as a DRF field, for the OpenAPI schema only."""
    options = {"required": field.required, "help_text": field.help or None}
    if field.type == "object":
        return _record_serializer(f"{field.name.title()}Record", field.fields)(**options)
    if field.type == "member":
        return _record_serializer("MemberKey", spec._MEMBER)(**options)
    if field.type == "members":
        return serializers.ListField(
            child=_record_serializer("MemberKey", spec._MEMBER)(), **options
        )
    if field.type == "date":
        return serializers.DateField(**options)
    if field.type == "bool":
        return serializers.BooleanField(**options)
    if field.type == "money":
        return serializers.DecimalField(max_digits=14, decimal_places=2, **options)
    if field.type == "choice":
        return serializers.ChoiceField(choices=field.choices, **options)
    return serializers.CharField(max_length=field.max_length or None, **options)


_record_serializers: dict[str, type[serializers.Serializer]] = {}


def _record_serializer(name: str, fields: tuple[spec.Field, ...]) -> type[serializers.Serializer]:
    if name not in _record_serializers:
        _record_serializers[name] = type(
            name, (serializers.Serializer,), {f.name: _schema_field(f) for f in fields}
        )
    return _record_serializers[name]


RECORDS = {
    kind: _record_serializer(f"{kind[:-1].title()}Record", fields)
    for kind, fields in spec.SPECS.items()
}


class BatchResult(serializers.Serializer):
    batch = serializers.IntegerField(source="pk")
    status = serializers.ChoiceField(choices=ImportBatch.BatchStatus.choices)
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = ErrorSerializer(many=True)


class BatchQueued(serializers.Serializer):
    batch = serializers.IntegerField(source="pk")
    status = serializers.ChoiceField(choices=ImportBatch.BatchStatus.choices)
    url = serializers.SerializerMethodField()

    def get_url(self, batch) -> str:
        return reverse("api-import-batch", args=[batch.pk])


class BatchOut(serializers.Serializer):
    batch = serializers.IntegerField(source="pk")
    kind = serializers.CharField()
    mode = serializers.CharField()
    status = serializers.ChoiceField(choices=ImportBatch.BatchStatus.choices)
    rows_total = serializers.IntegerField()
    rows_done = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = ErrorSerializer(many=True)
    failure = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


def _answer(batch: ImportBatch, *, replayed: bool) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    if batch.queued:
        headers["Location"] = reverse("api-import-batch", args=[batch.pk])
        return Response(BatchQueued(batch).data, status=status.HTTP_202_ACCEPTED, headers=headers)
    code = {
        ImportBatch.BatchStatus.DONE: status.HTTP_201_CREATED,
        ImportBatch.BatchStatus.REJECTED: status.HTTP_400_BAD_REQUEST,
    }.get(batch.status, status.HTTP_409_CONFLICT)
    return Response(BatchResult(batch).data, status=code, headers=headers)


_EXAMPLES = {
    "practices": [{"ods_code": "Y01234", "name": "Riverside Surgery", "postcode": "LS1 4AP"}],
    "members": [
        {
            "registration_body": "GMC",
            "registration_number": "1234567",
            "given_name": "Grace",
            "family_name": "Hopper",
            "role": "gp_partner",
        }
    ],
    "memberships": [
        {"member": "GMC:1234567", "organisation": "MPS", "start_date": "2010-01-01"},
    ],
    "employments": [
        {
            "member": {"registration_body": "NMC", "registration_number": "12A3456B"},
            "practice": "Y01234",
            "start_date": "2012-01-01",
            "employer": "GMC:1234567",
        }
    ],
    "claims": [
        {
            "external_ref": "MPS-2024-0001",
            "matter_type": "claim",
            "claimant": {
                "name": "Ada Lovelace",
                "date_of_birth": "1970-05-01",
                "nhs_number": "943 476 5919",
            },
            "practice": "Y01234",
            "clinicians": ["GMC:1234567"],
            "care_setting": "general_practice",
            "activity": "nhs_primary_medical_services",
            "incident_date": "2018-11-12",
            "notified_on": "2024-01-10",
            "letter_of_claim_on": "2024-01-08",
            "reserves": {"damages": "25000.00"},
        }
    ],
}

_DESCRIPTION = (
    "Body: a JSON array of records, or CSV with a header row (`Content-Type: text/csv`; nested "
    "fields flattened with `__`, member keys written `GMC:1234567`, lists joined with `;`, "
    "booleans `true`/`false`, an empty cell is absent). Records upsert on their natural key; a "
    "stored record changes only in the fields a row gives, and needs only its key. Rows are "
    "numbered from 0. Up to IMPORT_SYNC_MAX_ROWS rows answer at once: 201, or 400 `rejected` in "
    "atomic mode with every error; more answer 202 with the batch URL in `Location`. The same "
    "`Idempotency-Key` and body replay the first answer; the same key with another body is 409."
)


class UnreadBody(BaseParser):
    """Leaves the body unread for the service to stream. Without it, session authentication's
    CSRF check asks DRF for request.POST, which would parse (and so consume) the whole body."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class ImportCreate(APIView):
    """One bulk import; `import_view` makes one per kind, so the schema shows each record."""

    permission_classes = [MayImport]
    parser_classes = [UnreadBody]
    kind = ""

    def post(self, request):
        mode = request.query_params.get("mode", ImportBatch.Mode.ATOMIC)
        if mode not in ImportBatch.Mode.values:
            raise exceptions.ValidationError(
                {"mode": serializers.ErrorDetail("Use atomic or partial.", code="invalid_choice")}
            )
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > IDEMPOTENCY_KEY_MAX:
            raise _key_error(f"At most {IDEMPOTENCY_KEY_MAX} characters.", "too_long")
        if not key.isprintable():
            # A control character (a NUL could not even be stored) is no one's chosen key.
            raise _key_error(
                "Only printable characters, no control characters.", "invalid_character"
            )
        limit = settings.IMPORT_MAX_BODY_BYTES
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > limit:
            return _too_large(PayloadTooLarge(limit))
        try:
            submission = import_submit(
                actor=request.user,
                kind=self.kind,
                mode=mode,
                content_type=request.content_type or "",
                stream=request._request,
                idempotency_key=key,
            )
        except PayloadTooLarge as error:
            return _too_large(error)
        except BodyError as error:
            return Response(
                {"errors": [api_error(error.code, str(error))]}, status=status.HTTP_400_BAD_REQUEST
            )
        except IdempotencyConflict as error:
            return Response(
                {"errors": [api_error("idempotency_key_reused", str(error))]},
                status=status.HTTP_409_CONFLICT,
            )
        except DjangoPermissionDenied as error:
            raise exceptions.PermissionDenied(str(error)) from None
        return _answer(submission.batch, replayed=submission.replayed)


def _key_error(message: str, code: str) -> exceptions.ValidationError:
    return exceptions.ValidationError(
        {"Idempotency-Key": serializers.ErrorDetail(message, code=code)}
    )


def import_view(kind: str) -> type[ImportCreate]:
    """The import view for one kind, with that kind's record in the OpenAPI schema."""

    def post(self, request):
        return ImportCreate.post(self, request)

    documented = extend_schema(
        operation_id=f"imports_{kind}_create",
        summary=f"Bulk import {kind}",
        description=_DESCRIPTION,
        parameters=[
            OpenApiParameter(
                "mode",
                str,
                enum=ImportBatch.Mode.values,
                description="atomic (default): all rows or none; partial: good rows kept.",
            ),
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Retry safely: the same key and body return the first result.",
            ),
        ],
        request={
            "application/json": RECORDS[kind](many=True),
            "text/csv": {
                "type": "string",
                "description": "A header row naming the fields (nested as a__b), then one row a "
                "record.",
            },
        },
        responses={
            201: BatchResult,
            202: BatchQueued,
            400: OpenApiResponse(BatchResult, description="Rejected: row errors, or bad body."),
            401: ErrorsSerializer,
            403: ErrorsSerializer,
            409: ErrorsSerializer,
            413: ErrorsSerializer,
        },
        examples=[OpenApiExample(kind, value=_EXAMPLES[kind][0], request_only=True)],
    )(post)
    return type(f"Import{kind.title()}", (ImportCreate,), {"kind": kind, "post": documented})


def _too_large(error: PayloadTooLarge) -> Response:
    return Response(
        {"errors": [api_error("payload_too_large", str(error))]},
        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


def _batches_for(user):
    """Caseworkers see every batch; anyone else only the batches they sent."""
    batches = ImportBatch.objects.all()
    return batches if is_caseworker(user) else batches.filter(created_by=user)


class ImportBatchList(APIView):
    @extend_schema(responses={200: BatchOut(many=True), 401: ErrorsSerializer})
    def get(self, request):
        return Response(BatchOut(_batches_for(request.user)[:100], many=True).data)


class ImportBatchDetail(APIView):
    @extend_schema(responses={200: BatchOut, 401: ErrorsSerializer, 404: ErrorsSerializer})
    def get(self, request, pk: int):
        # Somebody else's batch is a 404, like one that does not exist.
        return Response(BatchOut(get_object_or_404(_batches_for(request.user), pk=pk)).data)
