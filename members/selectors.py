"""Reads of members and practices by the keys other systems use."""

from collections.abc import Iterable

from members.models import Member, Practice


def member_ids_by_key(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Member ids by (registration body, number): one query for any number of keys."""
    keys = set(keys)
    if not keys:
        return {}
    found = Member.objects.filter(
        registration_number__in={number for _, number in keys}
    ).values_list("registration_body", "registration_number", "pk")
    return {(body, number): pk for body, number, pk in found if (body, number) in keys}


def practice_ids_by_code(codes: Iterable[str]) -> dict[str, int]:
    """Practice ids by ODS code: one query for any number of codes."""
    codes = set(codes)
    if not codes:
        return {}
    return dict(Practice.objects.filter(ods_code__in=codes).values_list("ods_code", "pk"))
