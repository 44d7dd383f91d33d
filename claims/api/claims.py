"""GET /api/v1/claims/ and GET/PATCH /api/v1/claims/{reference}/ (design.md §3.3).

Who sees what is decided once, by claims.selectors.claims_visible_to, before any view code runs:
a claim the caller may not see is a 404, exactly like one that does not exist."""

import re

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from claims.api.deadlines import DeadlineChangeOut
from claims.deadline_services import NotOpen
from claims.models import (
    COMPLETION_DATE_FIELDS,
    TRIGGER_DATE_FIELDS,
    Activity,
    CareSetting,
    Claim,
    ClaimClinician,
    Deadline,
    MatterType,
    Outcome,
    Payment,
    Stage,
    Status,
)
from claims.selectors import (
    POSSIBLE_DUPLICATE,
    claim_history,
    claim_money,
    claim_routing_current,
    claims_filter,
    claims_next_deadlines,
    claims_visible_to,
)
from claims.services import StaleVersion, claim_change, claim_viewed
from config.api import ErrorsSerializer
from config.api_errors import Conflict, api_error, validation_error_from
from handlers.permissions import sees_every_claim
from members.models import Practice
from members.selectors import members_of_keys
from schemes import routing


def _codes(text: str) -> list[str]:
    return [code for code in text.split(",") if code]


def _duplicate_of(claim, context) -> str | None:
    """The earlier claim a possible duplicate points at is shown only to those who see every
    claim: it may belong to another organisation (design.md §2)."""
    if claim.possible_duplicate_of_id and context.get("sees_every_claim"):
        return claim.possible_duplicate_of.reference
    return None


class NextDeadlineOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    due_on = serializers.DateField()


class ClaimListItem(serializers.Serializer):
    reference = serializers.CharField()
    external_ref = serializers.CharField()
    claimant_name = serializers.CharField()
    practice = serializers.CharField(source="practice.ods_code", allow_null=True, default=None)
    stage = serializers.CharField()
    status = serializers.CharField()
    outcome = serializers.CharField()
    schemes = serializers.SerializerMethodField()
    lead_handler = serializers.SerializerMethodField()
    handlers = serializers.SerializerMethodField()
    flags = serializers.SerializerMethodField()
    needs_triage = serializers.BooleanField()
    possible_duplicate_of = serializers.SerializerMethodField()
    incident_date = serializers.DateField(allow_null=True)
    incident_date_from = serializers.DateField(allow_null=True)
    incident_date_to = serializers.DateField(allow_null=True)
    notified_on = serializers.DateField(allow_null=True)
    next_deadline = serializers.SerializerMethodField()
    version = serializers.IntegerField()

    def get_schemes(self, claim) -> list[str]:
        return _codes(claim.schemes)

    def get_lead_handler(self, claim) -> str | None:
        return claim.lead_handler or None

    def get_handlers(self, claim) -> list[str]:
        return _codes(claim.handlers)

    def get_flags(self, claim) -> list[str]:
        flags = _codes(claim.flags)
        if claim.possible_duplicate_of_id and self.context.get("sees_every_claim"):
            flags.append(POSSIBLE_DUPLICATE)
        return flags

    def get_possible_duplicate_of(self, claim) -> str | None:
        return _duplicate_of(claim, self.context)

    @extend_schema_field(NextDeadlineOut(allow_null=True))
    def get_next_deadline(self, claim) -> dict | None:
        deadline = self.context.get("next_deadlines", {}).get(claim.pk)
        return NextDeadlineOut(deadline).data if deadline else None


class ClaimantOut(serializers.Serializer):
    name = serializers.CharField(source="claimant_name")
    date_of_birth = serializers.DateField(source="claimant_date_of_birth", allow_null=True)
    nhs_number = serializers.CharField(source="claimant_nhs_number")
    date_of_death = serializers.DateField(source="claimant_date_of_death", allow_null=True)
    lacks_capacity = serializers.BooleanField(source="claimant_lacks_capacity")


class PracticeOut(serializers.Serializer):
    ods_code = serializers.CharField()
    name = serializers.CharField()


class ClinicianOut(serializers.Serializer):
    registration_body = serializers.CharField(source="member.registration_body")
    registration_number = serializers.CharField(source="member.registration_number")
    given_name = serializers.CharField(source="member.given_name")
    family_name = serializers.CharField(source="member.family_name")
    role = serializers.CharField(source="member.role")


class SegmentOut(serializers.Serializer):
    clinician = serializers.IntegerField(allow_null=True)
    # `from` is a Python keyword: declared below.
    to = serializers.DateField(allow_null=True)
    scheme = serializers.CharField()
    handler = serializers.CharField(allow_null=True)


SegmentOut._declared_fields = {
    "clinician": SegmentOut._declared_fields["clinician"],
    "from": serializers.DateField(allow_null=True),
    **{k: v for k, v in SegmentOut._declared_fields.items() if k != "clinician"},
}


class RoutingOut(serializers.Serializer):
    schemes = serializers.ListField(child=serializers.CharField())
    lead_handler = serializers.CharField(allow_null=True)
    handlers = serializers.ListField(child=serializers.CharField())
    flags = serializers.ListField(child=serializers.CharField())
    segments = SegmentOut(many=True)
    reasons = serializers.ListField(child=serializers.CharField())
    rule_version = serializers.CharField()
    decision_date = serializers.DateField()
    decided_at = serializers.DateTimeField()


class ClaimDeadlineOut(serializers.Serializer):
    """design.md §3.4."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    due_on = serializers.DateField(allow_null=True)
    status = serializers.CharField()
    suspended = serializers.BooleanField()
    non_working_day = serializers.BooleanField()
    met_on = serializers.DateField(allow_null=True)
    source = serializers.CharField()
    history = DeadlineChangeOut(many=True)


class MoneyLineOut(serializers.Serializer):
    head = serializers.CharField()
    reserve = serializers.DecimalField(max_digits=14, decimal_places=2)
    paid = serializers.DecimalField(max_digits=14, decimal_places=2)
    outstanding = serializers.DecimalField(max_digits=14, decimal_places=2)


class MoneyOut(serializers.Serializer):
    heads = MoneyLineOut(many=True, source="lines")
    reserve = serializers.DecimalField(max_digits=14, decimal_places=2)
    paid = serializers.DecimalField(max_digits=14, decimal_places=2)
    outstanding = serializers.DecimalField(max_digits=14, decimal_places=2)


class PaymentOut(serializers.Serializer):
    head = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    paid_on = serializers.DateField()
    payee_type = serializers.CharField()
    payee_name = serializers.CharField()
    reference = serializers.CharField()


class NoteOut(serializers.Serializer):
    at = serializers.DateTimeField(source="created_at")
    author = serializers.SerializerMethodField()
    text = serializers.CharField()

    def get_author(self, note) -> str:
        return note.author.get_username() if note.author_id else note.author_label


class HistoryOut(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.SerializerMethodField()
    action = serializers.CharField()
    before = serializers.JSONField()
    after = serializers.JSONField()
    reason = serializers.CharField()

    def get_actor(self, event) -> str:
        user = event.acting_account
        return user.get_username() if user else event.actor_label or "system"


_DATE_FIELDS = tuple(dict.fromkeys(TRIGGER_DATE_FIELDS + COMPLETION_DATE_FIELDS))


class ClaimOut(serializers.Serializer):
    reference = serializers.CharField()
    external_ref = serializers.CharField()
    source = serializers.CharField(source="source_organisation.code", allow_null=True, default=None)
    matter_type = serializers.CharField()
    claimant = ClaimantOut(source="*")
    practice = PracticeOut(allow_null=True)
    clinicians = ClinicianOut(many=True, source="claim_clinicians.all")
    care_setting = serializers.CharField()
    activity = serializers.CharField()
    coronavirus_response = serializers.BooleanField()
    other_indemnity = serializers.BooleanField()
    provider_cnst_member = serializers.BooleanField()
    incident_date = serializers.DateField(allow_null=True)
    incident_date_from = serializers.DateField(allow_null=True)
    incident_date_to = serializers.DateField(allow_null=True)
    date_of_knowledge = serializers.DateField(allow_null=True)
    notified_on = serializers.DateField(allow_null=True)
    stage = serializers.CharField()
    status = serializers.CharField()
    outcome = serializers.CharField()
    description = serializers.CharField()
    assigned_to = serializers.CharField(
        source="assigned_to.username", allow_null=True, default=None
    )
    possible_duplicate_of = serializers.SerializerMethodField()
    needs_triage = serializers.BooleanField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    routing = serializers.SerializerMethodField()
    deadlines = ClaimDeadlineOut(many=True, source="deadlines.all")
    money = serializers.SerializerMethodField()
    payments = PaymentOut(many=True, source="payments.all")
    notes = NoteOut(many=True, source="notes.all")
    history = serializers.SerializerMethodField()

    def get_fields(self):
        fields = super().get_fields()
        for name in _DATE_FIELDS:
            fields[name] = serializers.DateField(allow_null=True)
        return fields

    def get_possible_duplicate_of(self, claim) -> str | None:
        return _duplicate_of(claim, self.context)

    @extend_schema_field(RoutingOut(allow_null=True))
    def get_routing(self, claim) -> dict | None:
        current = claim_routing_current(claim=claim)
        return RoutingOut(current).data if current else None

    @extend_schema_field(MoneyOut)
    def get_money(self, claim) -> dict:
        return MoneyOut(claim_money(claim=claim)).data

    @extend_schema_field(HistoryOut(many=True))
    def get_history(self, claim) -> list:
        return HistoryOut(claim_history(claim=claim), many=True).data


class ClaimFilters(serializers.Serializer):
    scheme = serializers.ChoiceField(
        choices=[
            routing.CNSGP,
            routing.ELSGP,
            routing.ELGP,
            routing.CNST,
            routing.ELS,
            routing.CNSC,
            routing.NO_STATE_SCHEME,
            routing.NOT_A_CLAIM,
            routing.UNDETERMINED,
        ],
        required=False,
    )
    handler = serializers.CharField(required=False)
    lead_handler = serializers.CharField(required=False)
    stage = serializers.ChoiceField(choices=Stage.values, required=False)
    status = serializers.ChoiceField(choices=Status.values, required=False)
    practice = serializers.CharField(required=False)
    incident_date_after = serializers.DateField(required=False)
    incident_date_before = serializers.DateField(required=False)
    notified_after = serializers.DateField(required=False)
    notified_before = serializers.DateField(required=False)
    overdue = serializers.BooleanField(required=False, default=False)
    triage = serializers.BooleanField(required=False, default=False)
    flag = serializers.ChoiceField(
        choices=[routing.APPORTIONMENT_REQUIRED, routing.MANUAL_REVIEW, POSSIBLE_DUPLICATE],
        required=False,
    )
    q = serializers.CharField(required=False, allow_blank=True)

    def validate(self, attrs):
        for name in ("handler", "lead_handler", "practice"):
            if attrs.get(name):
                attrs[name] = attrs[name].upper()
        return attrs


class ClaimCursor(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request):
        # DRF answers a cursor it cannot read with 404; it is a bad parameter, not a lost page.
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError(
                {
                    "cursor": serializers.ErrorDetail(
                        "Not a cursor this API gave: follow the next and previous links.",
                        code="invalid_cursor",
                    )
                }
            ) from None


class ClaimList(APIView):
    """Claims you may see, newest first, with the filters of design.md §3.3."""

    @extend_schema(
        parameters=[
            OpenApiParameter("scheme", str, enum=ClaimFilters().fields["scheme"].choices),
            OpenApiParameter("handler", str, description="Any segment's handler: NHSR, MPS, ..."),
            OpenApiParameter("lead_handler", str),
            OpenApiParameter("stage", str, enum=Stage.values),
            OpenApiParameter("status", str, enum=Status.values),
            OpenApiParameter("practice", str, description="ODS code"),
            OpenApiParameter("incident_date_after", OpenApiTypes.DATE),
            OpenApiParameter("incident_date_before", OpenApiTypes.DATE),
            OpenApiParameter("notified_after", OpenApiTypes.DATE),
            OpenApiParameter("notified_before", OpenApiTypes.DATE),
            OpenApiParameter("overdue", bool, description="Any unmet deadline past its day."),
            OpenApiParameter("triage", bool, description="UNDETERMINED or MANUAL_REVIEW."),
            OpenApiParameter("flag", str, enum=ClaimFilters().fields["flag"].choices),
            OpenApiParameter(
                "q", str, description="Reference, external ref, claimant name or NHS number."
            ),
            OpenApiParameter("cursor", str),
            OpenApiParameter("page_size", int, description="Up to 500; default 50."),
        ],
        responses={200: ClaimListItem(many=True), 400: ErrorsSerializer, 401: ErrorsSerializer},
    )
    def get(self, request):
        filters = ClaimFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        sees_all = sees_every_claim(request.user)
        claims = claims_filter(
            claims_visible_to(user=request.user), **filters.validated_data
        ).select_related("practice", "possible_duplicate_of")
        if filters.validated_data.get("flag") == POSSIBLE_DUPLICATE and not sees_all:
            # Duplicates are found across organisations: a caseworker's matter.
            claims = claims.none()
        paginator = ClaimCursor()
        page = paginator.paginate_queryset(claims, request, view=self)
        context = {
            "next_deadlines": claims_next_deadlines(claim.pk for claim in page),
            "sees_every_claim": sees_all,
        }
        return paginator.get_paginated_response(
            ClaimListItem(page, many=True, context=context).data
        )


class ClaimPatchIn(serializers.Serializer):
    """design.md §3.3: stage, status and outcome, the dates of §3.4, the facts routing reads
    (the practice and the clinicians among them), the description. Caseworkers change them all;
    an MDO handler the stage, the dates and the description."""

    stage = serializers.ChoiceField(choices=Stage.values)
    status = serializers.ChoiceField(choices=Status.values)
    outcome = serializers.ChoiceField(choices=[*Outcome.values, ""], allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    matter_type = serializers.ChoiceField(choices=MatterType.values)
    care_setting = serializers.ChoiceField(choices=CareSetting.values)
    activity = serializers.ChoiceField(choices=Activity.values)
    coronavirus_response = serializers.BooleanField()
    other_indemnity = serializers.BooleanField()
    provider_cnst_member = serializers.BooleanField()
    date_of_knowledge = serializers.DateField(allow_null=True)
    notified_on = serializers.DateField(allow_null=True)
    practice = serializers.CharField(allow_null=True, help_text="ODS code; null for none.")
    clinicians = serializers.ListField(
        child=serializers.CharField(), help_text="Member keys in order, as GMC:1234567."
    )

    def validate_practice(self, code):
        if code is None:
            return None
        practice = Practice.objects.filter(ods_code=code.strip().upper()).first()
        if practice is None:
            raise serializers.ValidationError(f"No practice {code}.", code="unknown_practice")
        return practice

    def validate_clinicians(self, keys):
        parsed = [tuple(key.strip().upper().partition(":")[::2]) for key in keys]
        found = members_of_keys(parsed)
        errors = {}
        for index, (key, (body, number)) in enumerate(zip(keys, parsed, strict=True)):
            if not body or not number:
                errors[index] = [
                    serializers.ErrorDetail(
                        f"{key!r} is not a member key; write it BODY:NUMBER.",
                        code="invalid_member_key",
                    )
                ]
            elif (body, number) not in found:
                errors[index] = [
                    serializers.ErrorDetail(f"No member {key}.", code="unknown_member")
                ]
        if errors:
            raise serializers.ValidationError(errors)
        return [found[key] for key in parsed]

    def get_fields(self):
        fields = super().get_fields()
        for name in (*_DATE_FIELDS, "incident_date", "incident_date_from", "incident_date_to"):
            fields[name] = serializers.DateField(allow_null=True)
        return fields

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {
                    name: serializers.ErrorDetail(
                        "Not a field you can change here.", code="unknown_field"
                    )
                    for name in unknown
                }
            )
        return attrs


_ETAG = re.compile(r'^(?:W/)?"?(\d{1,10})"?$')


def _claim_for(request, reference: str) -> Claim:
    claim = (
        claims_visible_to(user=request.user)
        .select_related("practice", "source_organisation", "assigned_to", "possible_duplicate_of")
        .prefetch_related(
            Prefetch(
                "claim_clinicians",
                queryset=ClaimClinician.objects.select_related("member").order_by("position"),
            ),
            Prefetch(
                "deadlines",
                queryset=Deadline.objects.order_by("due_on", "kind").prefetch_related("history"),
            ),
            Prefetch("payments", queryset=Payment.objects.order_by("-paid_on", "-id")),
            "notes__author",
        )
        .filter(reference=reference)
        .first()
    )
    if claim is None:
        raise Http404
    return claim


def _answer(request, claim: Claim, code: int = status.HTTP_200_OK) -> Response:
    body = ClaimOut(claim, context={"sees_every_claim": sees_every_claim(request.user)}).data
    return Response(body, status=code, headers={"ETag": f'"{claim.version}"'})


class ClaimDetail(APIView):
    @extend_schema(
        responses={200: ClaimOut, 401: ErrorsSerializer, 404: ErrorsSerializer},
    )
    def get(self, request, reference: str):
        claim = _claim_for(request, reference)
        claim_viewed(claim=claim, actor=request.user, channel="api")
        return _answer(request, claim)

    @extend_schema(
        request=ClaimPatchIn,
        parameters=[
            OpenApiParameter(
                "If-Match",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description='The ETag of the claim as you read it, as "3".',
            )
        ],
        responses={
            200: ClaimOut,
            400: ErrorsSerializer,
            401: ErrorsSerializer,
            403: ErrorsSerializer,
            404: ErrorsSerializer,
            409: ErrorsSerializer,
            412: ErrorsSerializer,
            428: ErrorsSerializer,
        },
    )
    def patch(self, request, reference: str):
        claim = _claim_for(request, reference)
        if_match = request.headers.get("If-Match")
        if not if_match:
            return Response(
                {
                    "errors": [
                        api_error(
                            "precondition_required",
                            "Send If-Match with the ETag of the claim as you read it.",
                        )
                    ]
                },
                status=status.HTTP_428_PRECONDITION_REQUIRED,
            )
        match = _ETAG.match(if_match.strip())
        if match is None:
            raise exceptions.ValidationError(
                {"If-Match": serializers.ErrorDetail("Not an ETag of this API.", code="invalid")}
            )
        changes = ClaimPatchIn(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        fields = dict(changes.validated_data)
        clinicians = fields.pop("clinicians", None)
        version = int(match.group(1))
        try:
            claim_change(
                claim=claim,
                actor=request.user,
                expected_version=version,
                reason="Changed through the API",
                clinicians=clinicians,
                **fields,
            )
        except StaleVersion as error:
            return Response(
                {"errors": [api_error("precondition_failed", str(error))]},
                status=status.HTTP_412_PRECONDITION_FAILED,
                headers={"ETag": f'"{error.current}"'},
            )
        except NotOpen as error:
            raise Conflict(str(error), code=error.code) from None
        except DjangoPermissionDenied as error:
            raise exceptions.PermissionDenied(str(error)) from None
        except DjangoValidationError as error:
            raise validation_error_from(error) from None
        return _answer(request, _claim_for(request, reference))
