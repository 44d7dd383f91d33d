"""Reads of members and practices by the keys other systems use."""

from collections.abc import Iterable

from django.db.models import F

from config.postgres_copy import AnyOf
from members.models import Member, Practice


def _numbered(keys: set[tuple[str, str]]):
    return Member.objects.filter(
        AnyOf(F("registration_number"), list({number for _, number in keys}))
    )


def members_by_key(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str]]:
    """Members' (id, role) by (registration body, number): one query for any number of keys."""
    keys = set(keys)
    if not keys:
        return {}
    found = _numbered(keys).values_list("registration_body", "registration_number", "pk", "role")
    return {
        (body, number): (pk, role) for body, number, pk, role in found if (body, number) in keys
    }


def members_of_keys(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Member]:
    """Members by (registration body, number): one query for any number of keys."""
    keys = set(keys)
    if not keys:
        return {}
    return {
        key: member
        for member in _numbered(keys)
        if (key := (member.registration_body, member.registration_number)) in keys
    }


def member_ids_by_key(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Member ids by (registration body, number): one query for any number of keys."""
    return {key: pk for key, (pk, _) in members_by_key(keys).items()}


def practice_ids_by_code(codes: Iterable[str]) -> dict[str, int]:
    """Practice ids by ODS code: one query for any number of codes."""
    codes = set(codes)
    if not codes:
        return {}
    return dict(
        Practice.objects.filter(AnyOf(F("ods_code"), list(codes))).values_list("ods_code", "pk")
    )
