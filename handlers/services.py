"""Accounts: a user, their handler record (organisation and role) and, for systems, a token."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from audit.services import Actor, audit_record
from handlers.models import NHSR_CODE, Handler, HandlerOrganisation

# Roles whose people work in the admin (design.md §2); everyone else never gets in.
_ADMIN_ROLES = {Handler.Role.CASEWORKER, Handler.Role.AUDITOR}


def _organisation_for(role: str, organisation_code: str | None) -> HandlerOrganisation:
    if role in (Handler.Role.CASEWORKER, Handler.Role.AUDITOR):
        code = (organisation_code or NHSR_CODE).upper()
        if code != NHSR_CODE:
            raise ValidationError(
                f"A {role} works for NHSR, not {code}.", code="wrong_organisation"
            )
    elif not organisation_code:
        raise ValidationError(
            f"A {role} needs an organisation (--organisation MPS, say).",
            code="organisation_required",
        )
    else:
        code = organisation_code.upper()
    try:
        organisation = HandlerOrganisation.objects.get(code=code)
    except HandlerOrganisation.DoesNotExist:
        known = ", ".join(HandlerOrganisation.objects.values_list("code", flat=True))
        raise ValidationError(
            f"No handler organisation {code}; known: {known}.", code="unknown_organisation"
        ) from None
    if role == Handler.Role.HANDLER and organisation.is_nhsr:
        raise ValidationError(
            "NHSR staff who handle claims are caseworkers, not portal handlers.",
            code="wrong_organisation",
        )
    return organisation


@transaction.atomic
def account_create(
    *,
    actor: Actor,
    username: str,
    role: str,
    password: str,
    organisation_code: str | None = None,
    email: str = "",
    update_existing: bool = False,
) -> tuple[AbstractUser, Token | None]:
    """Create (or, with update_existing, reset) an account with its role. Importers get an API
    token, since they are systems."""
    if role not in Handler.Role.values:
        raise ValidationError(
            f"Unknown role {role!r}; roles: {', '.join(Handler.Role.values)}.", code="unknown_role"
        )
    organisation = _organisation_for(role, organisation_code)
    admin_access = role in _ADMIN_ROLES or (role == Handler.Role.TEAM_LEAD and organisation.is_nhsr)
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is not None and not update_existing:
        raise ValidationError(f"User {username!r} already exists.", code="duplicate_user")
    created = user is None
    if created:
        user = user_model(username=username)
    user.email = email or user.email
    user.is_staff = admin_access
    user.is_active = True
    user.set_password(password)
    user.save()
    Handler.objects.update_or_create(
        user=user, defaults={"organisation": organisation, "role": role}
    )
    token = Token.objects.get_or_create(user=user)[0] if role == Handler.Role.IMPORTER else None
    audit_record(
        actor=actor,
        actor_label="add_user" if actor is None else "",
        action="account.create" if created else "account.reset",
        subject=user,
        after={"username": username, "role": role, "organisation": organisation.code},
    )
    return user, token


@transaction.atomic
def account_password_change(*, user: AbstractUser, password: str) -> None:
    """A person changes their own password (already checked against the validators by the
    form); the change, never the password, goes in the audit trail."""
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=user, action="account.password_change", subject=user)
