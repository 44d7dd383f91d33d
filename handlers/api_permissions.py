from rest_framework.permissions import BasePermission

from handlers.permissions import is_caseworker


class IsCaseworker(BasePermission):
    """Agreements and re-routing move claims between organisations: caseworkers only."""

    message = "Only NHS Resolution caseworkers may do this."

    def has_permission(self, request, view) -> bool:
        return is_caseworker(request.user)
