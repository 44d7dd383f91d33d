"""What a locked-out sign-in sees (django-axes calls this; see AXES_LOCKOUT_CALLABLE)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def lockout_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """The API answers in its error format (design.md §3, 403: the contract has no 429); people
    get a page saying how long to wait and whom to ask. Neither says whether the username
    exists."""
    message = (
        f"Too many failed sign-ins for this username. Try again in {lockout_minutes()} "
        "minutes, or ask your organisation's administrator to unlock it."
    )
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"errors": [{"field": None, "code": "locked_out", "message": message}]},
            status=403,
        )
    response: HttpResponse = render(
        request,
        "portal/locked_out.html",
        {"minutes": lockout_minutes(), "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
    return response
