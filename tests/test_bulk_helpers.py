"""The bulk read and write helpers re-routing and imports rely on (config/postgres_copy.py): what
goes in comes out exactly, whatever characters it holds."""

import pytest
from django.db import connection
from django.db.models import F

from audit.models import AuditEvent
from audit.services import AuditSubject, audit_record_many
from claims.models import Claim
from config.postgres_copy import AnyOf, array_literal
from tests.factories import ClaimFactory

pytestmark = pytest.mark.django_db

AWKWARD = ["tab\there", "new\nline", "back\\slash", 'a "quote"', "comma, too", "", "NULL", "\\N"]


def test_audit_rows_written_in_bulk_keep_every_character():
    claim = ClaimFactory()
    shared = {"note": "shared\tby two rows"}
    audit_record_many(
        actor=None,
        actor_label="label\twith tab",
        action="claim.test",
        changes=[(claim, {"text": text}, shared) for text in AWKWARD]
        + [(AuditSubject("claims.claim", 42, "CL-\\N\n"), None, shared)],
        reason="why:\n\ttabbed \\ slashed",
    )
    events = list(AuditEvent.objects.order_by("pk"))
    assert [e.before for e in events[:-1]] == [{"text": text} for text in AWKWARD]
    assert {e.reason for e in events} == {"why:\n\ttabbed \\ slashed"}
    assert {e.actor_label for e in events} == {"label\twith tab"}
    assert all(e.after == shared for e in events)
    assert (events[-1].subject_id, events[-1].subject_repr, events[-1].before) == (
        "42",
        "CL-\\N\n",
        None,
    )
    assert events[0].subject_repr == claim.reference


def test_any_of_matches_exactly_the_given_ids():
    claims = [ClaimFactory() for _ in range(5)]
    wanted = [claims[0].pk, claims[2].pk, claims[4].pk, None]
    found = Claim.objects.filter(AnyOf(F("pk"), wanted)).values_list("pk", flat=True)
    assert sorted(found) == sorted(wanted[:3])
    assert not Claim.objects.filter(AnyOf(F("pk"), [])).exists()
    references = Claim.objects.filter(AnyOf(F("reference"), [claims[1].reference, 'x"y']))
    assert list(references) == [claims[1]]
    # A queryset stays a subquery, as it would in `__in`.
    some = Claim.objects.filter(pk__in=wanted[:2]).values("pk")
    assert sorted(Claim.objects.filter(AnyOf(F("pk"), some)).values_list("pk", flat=True)) == (
        sorted(wanted[:2])
    )


def test_array_literals_read_back_as_the_same_values():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::text[], %s::bigint[], %s::boolean[]",
            [
                array_literal(AWKWARD),
                array_literal([1, 2, 3]),
                array_literal([True, False]),
            ],
        )
        assert cursor.fetchone() == (AWKWARD, [1, 2, 3], [True, False])
    assert array_literal(["a", None]) is None


def test_copy_new_returns_each_rows_id_in_order_and_stores_it_exactly():
    from django.utils import timezone

    from claims.models import ClaimNote
    from config.postgres_copy import copy_new

    claim = ClaimFactory()
    ids = copy_new(
        ClaimNote,
        ("claim_id", "author_label", "text", "created_at"),
        [(claim.pk, f"writer {n}", text, timezone.now()) for n, text in enumerate(AWKWARD)],
    )
    assert len(set(ids)) == len(AWKWARD)
    stored = dict(ClaimNote.objects.values_list("pk", "text"))
    assert [stored[pk] for pk in ids] == AWKWARD
    # The sequence moved on: the next ordinary insert does not collide.
    assert ClaimNote.objects.create(claim=claim, text="after").pk not in ids


def test_update_rows_changes_only_the_rows_named():
    from config.postgres_copy import update_rows

    claims = [ClaimFactory(description="before") for _ in range(3)]
    changed = update_rows(
        Claim, ("id", "description"), [(claims[0].pk, AWKWARD[0]), (claims[2].pk, AWKWARD[1])]
    )
    assert changed == 2
    assert [c.description for c in Claim.objects.order_by("pk")] == [
        AWKWARD[0],
        "before",
        AWKWARD[1],
    ]


def test_update_rows_refuses_a_value_too_long_for_its_column_instead_of_cutting_it():
    from django.db import DataError, transaction

    from config.postgres_copy import update_rows

    claim = ClaimFactory()
    with pytest.raises(DataError), transaction.atomic():
        update_rows(Claim, ("id", "claimant_name"), [(claim.pk, "x" * 201)])
    claim.refresh_from_db()
    assert len(claim.claimant_name) < 201


def _dangling_clinician_written():
    """A clinician row naming a claim that does not exist: a foreign key violation."""
    from django.db import IntegrityError, transaction

    from claims.models import ClaimClinician
    from tests.factories import MemberFactory

    class Accepted(Exception):
        """Rolls the accepted row back, so the test's own transaction ends clean."""

    member = MemberFactory()
    try:
        with transaction.atomic():
            ClaimClinician.objects.create(claim_id=2**40, member=member, position=0)
            raise Accepted
    except IntegrityError:
        return "refused at once"
    except Accepted:
        return "accepted until commit"


def test_foreign_keys_are_checked_per_statement_inside_and_deferred_again_after():
    from django.db import transaction

    from config.postgres_copy import constraints_checked_per_statement

    with transaction.atomic():
        with constraints_checked_per_statement():
            inside = _dangling_clinician_written()
        after = _dangling_clinician_written()
    assert (inside, after) == ("refused at once", "accepted until commit")
