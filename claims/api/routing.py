"""POST /api/v1/routing/preview/: facts in, decision out, nothing stored (design.md §3.2)."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import ErrorsSerializer
from members.models import DefenceOrganisation
from schemes import routing
from schemes.selectors import agreements_as_facts

_MDO_FIELDS = ("mdo_at_incident", "employer_mdo_at_incident", "current_mdo")


class ClinicianFactsIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=routing.CLINICIAN_ROLES)
    mdo_at_incident = serializers.CharField(allow_null=True, required=False, default=None)
    employer_mdo_at_incident = serializers.CharField(allow_null=True, required=False, default=None)
    current_mdo = serializers.CharField(allow_null=True, required=False, default=None)


class RoutingFactsIn(serializers.Serializer):
    matter_type = serializers.ChoiceField(choices=routing.MATTER_TYPES)
    care_setting = serializers.ChoiceField(choices=routing.CARE_SETTINGS)
    activity = serializers.ChoiceField(choices=routing.ACTIVITIES)
    coronavirus_response = serializers.BooleanField(required=False, default=False)
    other_indemnity = serializers.BooleanField(required=False, default=False)
    provider_cnst_member = serializers.BooleanField(required=False, default=False)
    incident_date = serializers.DateField(required=False, allow_null=True, default=None)
    incident_date_from = serializers.DateField(required=False, allow_null=True, default=None)
    incident_date_to = serializers.DateField(required=False, allow_null=True, default=None)
    clinicians = ClinicianFactsIn(many=True, required=False, default=list)
    decision_date = serializers.DateField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        known = set(DefenceOrganisation.objects.values_list("code", flat=True))
        errors = {}
        for index, clinician in enumerate(attrs["clinicians"]):
            for name in _MDO_FIELDS:
                code = clinician.get(name)
                if code is not None and code not in known:
                    errors[f"clinicians[{index}].{name}"] = serializers.ErrorDetail(
                        f"Unknown organisation code {code!r}; known: {', '.join(sorted(known))}.",
                        code="unknown_code",
                    )
        if errors:
            raise serializers.ValidationError(errors)
        facts = self.to_facts(attrs)
        try:
            routing.validate_facts(facts)
        except routing.FactsError as error:
            raise serializers.ValidationError(
                {error.field: serializers.ErrorDetail(str(error), code=error.code)}
            ) from None
        attrs["facts"] = facts
        return attrs

    @staticmethod
    def to_facts(attrs) -> routing.ClaimFacts:
        return routing.ClaimFacts(
            matter_type=attrs["matter_type"],
            care_setting=attrs["care_setting"],
            activity=attrs["activity"],
            decision_date=attrs["decision_date"] or timezone.localdate(),
            incident_date=attrs["incident_date"],
            incident_date_from=attrs["incident_date_from"],
            incident_date_to=attrs["incident_date_to"],
            coronavirus_response=attrs["coronavirus_response"],
            other_indemnity=attrs["other_indemnity"],
            provider_cnst_member=attrs["provider_cnst_member"],
            clinicians=tuple(
                routing.ClinicianFacts(
                    role=c["role"],
                    mdo_at_incident=c.get("mdo_at_incident"),
                    employer_mdo_at_incident=c.get("employer_mdo_at_incident"),
                    current_mdo=c.get("current_mdo"),
                )
                for c in attrs["clinicians"]
            ),
        )


DecisionOut = inline_serializer(
    "RoutingDecision",
    {
        "schemes": serializers.ListField(child=serializers.CharField()),
        "lead_handler": serializers.CharField(allow_null=True),
        "handlers": serializers.ListField(child=serializers.CharField()),
        "flags": serializers.ListField(child=serializers.CharField()),
        "segments": inline_serializer(
            "RoutingSegment",
            {
                "clinician": serializers.IntegerField(allow_null=True),
                "from": serializers.DateField(allow_null=True),
                "to": serializers.DateField(allow_null=True),
                "scheme": serializers.CharField(),
                "handler": serializers.CharField(allow_null=True),
            },
            many=True,
        ),
        "reasons": serializers.ListField(child=serializers.CharField()),
        "rule_version": serializers.CharField(),
        "decision_date": serializers.DateField(),
    },
)


class RoutingPreview(APIView):
    """Route a set of facts with the agreements in force, storing nothing."""

    @extend_schema(
        request=RoutingFactsIn,
        responses={200: DecisionOut, 400: ErrorsSerializer, 401: ErrorsSerializer},
    )
    def post(self, request):
        facts_in = RoutingFactsIn(data=request.data)
        facts_in.is_valid(raise_exception=True)
        decision = routing.route(facts_in.validated_data["facts"], agreements_as_facts())
        return Response(decision.as_dict())
