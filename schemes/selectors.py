"""Reads that turn stored memberships, employments and agreements into routing facts.

domain.md §4 (effective MDO, an assumption): a clinician's own MDO on a date and the MDO of the GP
member employing them on that date. Loaded for a whole batch of clinicians in three queries, then
looked up in memory, so routing a batch of claims never queries per claim.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import F

from config.postgres_copy import AnyOf, values_of
from members.models import Employment, Membership
from schemes import routing
from schemes.models import ElsAgreement


def agreements_as_facts() -> tuple[routing.Agreement, ...]:
    return tuple(
        routing.Agreement(organisation=code, agreed_on=agreed_on, handover_on=handover_on)
        for code, agreed_on, handover_on in ElsAgreement.objects.values_list(
            "organisation__code", "agreed_on", "handover_on"
        )
    )


_UNASKED = object()


def period_covers(start: datetime.date, end: datetime.date | None, on: datetime.date) -> bool:
    """Whether a membership or employment from `start` to `end` (None: open) covers a day."""
    return start <= on and (end is None or on <= end)


@dataclass
class CoverBook:
    """Memberships and employments of a batch of members, answerable by date."""

    agreement_codes: frozenset[str]
    memberships: dict[int, list[tuple[datetime.date, datetime.date | None, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    employments: dict[int, list[tuple[datetime.date, datetime.date | None, int, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # Answers already given: the current MDO of a member is asked once for each of their claims
    # in a batch, and never changes within it.
    _own: dict[tuple[int, datetime.date], str | None] = field(
        default_factory=dict, init=False, repr=False
    )

    def own_mdo_on(self, member_id: int, on: datetime.date) -> str | None:
        """The member's MDO on a date. Concurrent memberships with two organisations are rare;
        then one with an ELS agreement wins, else the longest-standing (an assumption, as
        docs/routing.md says)."""
        key = (member_id, on)
        mdo = self._own.get(key, _UNASKED)
        if mdo is not _UNASKED:
            return mdo
        held = self.memberships.get(member_id, ())
        if len(held) == 1:  # most members: one membership, no choice to make
            start, end, code = held[0]
            mdo = code if period_covers(start, end, on) else None
        else:
            covering = [
                (code not in self.agreement_codes, start, code)
                for start, end, code in held
                if period_covers(start, end, on)
            ]
            mdo = min(covering)[2] if covering else None
        self._own[key] = mdo
        return mdo

    def employer_on(self, member_id: int, on: datetime.date, practice_id: int | None) -> int | None:
        """The GP member employing this member on a date, preferring an employment at the
        claim's practice, then the most recent one."""
        jobs = [
            (practice != practice_id, -start.toordinal(), employer)
            for start, end, employer, practice in self.employments.get(member_id, ())
            if period_covers(start, end, on)
        ]
        return min(jobs)[2] if jobs else None

    def mdos_on(
        self, member_id: int, on: datetime.date, practice_id: int | None
    ) -> tuple[str | None, str | None]:
        """The member's own MDO on a date and that of the GP member employing them then."""
        own = self.own_mdo_on(member_id, on)
        if member_id not in self.employments:  # most clinicians: GPs, employed by nobody
            return own, None
        employer = self.employer_on(member_id, on, practice_id)
        return own, self.own_mdo_on(employer, on) if employer is not None else None


def cover_book_for(
    member_ids: Iterable[int], *, agreements: Iterable[routing.Agreement]
) -> CoverBook:
    ids = set(member_ids)
    book = CoverBook(agreement_codes=frozenset(a.organisation for a in agreements))
    if not ids:
        return book
    jobs = values_of(
        Employment.objects.filter(AnyOf(F("member_id"), ids), employer_id__isnull=False)
        .order_by()
        .values_list("member_id", "start_date", "end_date", "employer_id", "practice_id")
    )
    employer_ids = set()
    for member_id, start, end, employer_id, practice_id in jobs:
        book.employments[member_id].append((start, end, employer_id, practice_id))
        employer_ids.add(employer_id)
    for member_id, start, end, code in values_of(
        Membership.objects.filter(AnyOf(F("member_id"), ids | employer_ids))
        .order_by()
        .values_list("member_id", "start_date", "end_date", "organisation__code")
    ):
        book.memberships[member_id].append((start, end, code))
    return book
