"""Who a user is to the system (design.md §2). Every access decision starts from these."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from handlers.models import Handler

User = AbstractBaseUser | AnonymousUser


def handler_for(user: User) -> Handler | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.handler  # type: ignore[union-attr]
    except Handler.DoesNotExist:
        return None


def user_role(user: User) -> str | None:
    handler = handler_for(user)
    return handler.role if handler else None


def is_caseworker(user: User) -> bool:
    """NHSR caseworkers, and NHSR team leads who lead them; superusers administer the system."""
    if getattr(user, "is_superuser", False) and user.is_active:
        return True
    handler = handler_for(user)
    if handler is None:
        return False
    return handler.role == Handler.Role.CASEWORKER or (
        handler.role == Handler.Role.TEAM_LEAD and handler.organisation.is_nhsr
    )


def is_auditor(user: User) -> bool:
    return user_role(user) == Handler.Role.AUDITOR


def sees_every_claim(user: User) -> bool:
    """Caseworkers and auditors see every claim (design.md §2); everyone else is scoped."""
    return is_caseworker(user) or is_auditor(user)


# Roles that work in the MDO claim handlers' portal (design.md §2 and §3.6).
PORTAL_ROLES = (Handler.Role.HANDLER, Handler.Role.TEAM_LEAD)


def is_portal_user(user: User) -> bool:
    """Claim handlers and team leads of an MDO (not NHSR, whose staff work in the admin)."""
    if not getattr(user, "is_active", False):
        return False
    handler = handler_for(user)
    return handler is not None and handler.role in PORTAL_ROLES and not handler.organisation.is_nhsr


def is_portal_team_lead(user: User) -> bool:
    handler = handler_for(user)
    return is_portal_user(user) and handler.role == Handler.Role.TEAM_LEAD
