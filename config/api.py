"""The /api/v1/ root and account endpoints. Feature endpoints live in their apps' api modules."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from handlers.permissions import handler_for


class ErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(required=False)
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorsSerializer(serializers.Serializer):
    errors = ErrorSerializer(many=True)


class ApiRoot(APIView):
    """What this API offers and who you are to it."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer(
            "ApiRoot",
            {
                "version": serializers.CharField(),
                "you": serializers.DictField(allow_null=True),
                "links": serializers.DictField(child=serializers.CharField()),
            },
        )
    )
    def get(self, request):
        handler = handler_for(request.user)
        you = None
        if request.user.is_authenticated:
            you = {
                "username": request.user.get_username(),
                "organisation": handler.organisation.code if handler else None,
                "role": handler.role if handler else None,
            }
        return Response(
            {
                "version": "1",
                "you": you,
                "links": {
                    "token": reverse("api-token", request=request),
                    "schema": reverse("api-schema", request=request),
                    "docs": reverse("api-docs", request=request),
                },
            }
        )


class TokenObtain(ObtainAuthToken):
    """POST {"username", "password"} -> {"token": "..."}; send it as `Authorization: Token ...`."""

    @extend_schema(
        request=inline_serializer(
            "TokenRequest",
            {"username": serializers.CharField(), "password": serializers.CharField()},
        ),
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: ErrorsSerializer,
            # Locked out after repeated failed sign-ins (code locked_out).
            403: ErrorsSerializer,
        },
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
