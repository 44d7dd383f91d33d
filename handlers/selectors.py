"""Reads about people and organisations."""

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from handlers.permissions import PORTAL_ROLES


def colleagues_who_work_claims(*, organisation_id: int) -> QuerySet:
    """Active claim handlers and team leads of one organisation: those a team lead may give a
    claim to. Never anyone from another organisation."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            handler__organisation_id=organisation_id,
            handler__role__in=PORTAL_ROLES,
        )
        .order_by("first_name", "last_name", "username")
    )
