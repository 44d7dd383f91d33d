"""The API's one error shape (design.md §3):
{"errors": [{"row": n?, "field": "...", "code": "...", "message": "..."}]}.

`field` is null for an error about the request as a whole; `row` appears only for bulk imports.
"""

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.exceptions import ErrorDetail
from rest_framework.response import Response
from rest_framework.views import exception_handler


class Conflict(exceptions.APIException):
    """409: the object's state does not allow the change now (a closed claim, a deadline met)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object's state does not allow this change now."
    default_code = "conflict"


def validation_error_from(error: DjangoValidationError) -> exceptions.ValidationError:
    """A service's (Django's) ValidationError as DRF's, each message keeping its field and its
    code: the codes are what clients match on."""
    fields = (
        error.error_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: error.error_list}
    )
    return exceptions.ValidationError(
        {
            "non_field_errors" if field == NON_FIELD_ERRORS else field: [
                ErrorDetail(message, code=getattr(item, "code", None) or "invalid")
                for item in items
                for message in item
            ]
            for field, items in fields.items()
        }
    )


def api_error(code: str, message: str, *, field: str | None = None, row: int | None = None) -> dict:
    error: dict[str, Any] = {"field": field, "code": code, "message": message}
    if row is not None:
        error = {"row": row, **error}
    return error


def _flatten(detail: Any, field: str | None = None) -> list[dict]:
    """DRF nests validation errors by field (and by list index for many=True); flatten them into
    one list of errors, each naming the dotted path of the field it is about."""
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            if isinstance(key, int):  # a list item's errors, keyed by its index
                path = f"{field}[{key}]" if field else f"[{key}]"
            else:
                name = None if key in ("non_field_errors", "detail") else str(key)
                path = ".".join(part for part in (field, name) if part) or None
            errors.extend(_flatten(value, path))
        return errors
    if isinstance(detail, list):
        errors = []
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                errors.extend(_flatten(item, f"{field}[{index}]" if field else f"[{index}]"))
            else:
                errors.extend(_flatten(item, field))
        return errors
    code = getattr(detail, "code", None) or "invalid"
    return [api_error(str(code), str(detail), field=field)]


_NOT_FOUND = "No such API endpoint or object."


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    # Django's own 404 and 403 (get_object_or_404, a service's PermissionDenied) are turned into
    # DRF's by its handler, but only there: turned here first, they get their codes, and a 404
    # does not name the model it looked in.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_NOT_FOUND)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        if isinstance(exc, exceptions.ValidationError):
            errors = _flatten(exc.detail)
        else:
            code = exc.get_codes()
            errors = [
                api_error(code if isinstance(code, str) else exc.default_code, str(exc.detail))
            ]
    else:
        errors = [api_error("error", str(response.data))]
    response.data = {"errors": errors}
    return response


@csrf_exempt
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """Unknown URLs under /api/ answer in the API's error shape, not with an HTML page, for
    every method: exempt from the CSRF check (which would refuse a POST with an HTML 403), as
    the API's own views are."""
    return JsonResponse(
        {"errors": [api_error("not_found", _NOT_FOUND)]},
        status=status.HTTP_404_NOT_FOUND,
    )
