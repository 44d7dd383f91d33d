import datetime

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from audit.selectors import audit_events_for
from claims.models import Claim
from claims.services import StaleVersion, claim_create, claim_references_allocate, claim_update
from tests.factories import ClaimFactory, MemberFactory, PracticeFactory

pytestmark = pytest.mark.django_db


def test_references_are_consecutive_and_formatted_cl_year_six_digits():
    first = claim_references_allocate(count=3, year=2024)
    second = claim_references_allocate(count=2, year=2024)
    assert first == ["CL-2024-000001", "CL-2024-000002", "CL-2024-000003"]
    assert second == ["CL-2024-000004", "CL-2024-000005"]


def test_each_year_numbers_its_references_from_one():
    claim_references_allocate(count=5, year=2024)
    assert claim_references_allocate(count=1, year=2025) == ["CL-2025-000001"]


def test_creating_a_claim_gives_it_a_reference_its_clinicians_and_an_audit_row(caseworker):
    gp = MemberFactory()
    claim = claim_create(
        actor=caseworker,
        clinicians=[gp],
        matter_type="claim",
        claimant_name="Ada Lovelace",
        claimant_nhs_number="943 476 5919",
        practice=PracticeFactory(),
        care_setting="general_practice",
        activity="nhs_primary_medical_services",
        incident_date=datetime.date(2018, 11, 12),
    )
    assert claim.reference.startswith(f"CL-{datetime.date.today().year}-")
    assert claim.claimant_nhs_number == "9434765919"
    assert list(claim.clinicians.all()) == [gp]
    event = audit_events_for(subject=claim).get(action="claim.create")
    assert event.actor == caseworker
    assert event.after["clinicians"] == [gp.key]


def test_a_claim_recorded_by_hand_is_flagged_as_a_possible_duplicate_as_an_import_is(caseworker):
    practice, day = PracticeFactory(), datetime.date(2018, 11, 12)
    same = {"claimant_nhs_number": "9434765919", "practice": practice}
    earliest = ClaimFactory(**same, incident_date=day)
    ClaimFactory(**same, incident_date=day)  # later than earliest: not the one pointed at

    def recorded(**facts):
        return claim_create(
            actor=caseworker,
            matter_type="claim",
            claimant_name="Ada Lovelace",
            care_setting="general_practice",
            activity="nhs_primary_medical_services",
            **facts,
        )

    assert recorded(**same, incident_date=day).possible_duplicate_of == earliest
    # A range starting that day has the same key; a day apart, another practice, no number: not.
    ranged = recorded(**same, incident_date_from=day, incident_date_to=day)
    assert ranged.possible_duplicate_of == earliest
    assert recorded(**same, incident_date=day.replace(day=13)).possible_duplicate_of is None
    elsewhere = {**same, "practice": PracticeFactory()}
    assert recorded(**elsewhere, incident_date=day).possible_duplicate_of is None
    assert recorded(practice=practice, incident_date=day).possible_duplicate_of is None


def test_a_claim_with_an_invalid_nhs_number_is_refused_and_nothing_is_written(caseworker):
    with pytest.raises(ValidationError) as error:
        claim_create(
            actor=caseworker,
            matter_type="claim",
            claimant_name="Bad Number",
            claimant_nhs_number="1234567890",
            care_setting="general_practice",
            activity="nhs_primary_medical_services",
        )
    assert "claimant_nhs_number" in error.value.message_dict
    assert not Claim.objects.exists()
    assert not AuditEvent.objects.exists()


def test_update_bumps_the_version_and_audits_only_what_changed(caseworker):
    claim = ClaimFactory(stage="letter_of_claim")
    updated = claim_update(
        claim=claim, actor=caseworker, expected_version=1, stage="investigation", reason="Triage"
    )
    assert updated.version == 2
    event = audit_events_for(subject=claim).get()
    assert event.before == {"stage": "letter_of_claim", "version": 1}
    assert event.after == {"stage": "investigation", "version": 2}
    assert event.reason == "Triage"


def test_update_against_a_stale_version_changes_nothing(caseworker):
    claim = ClaimFactory(stage="letter_of_claim")
    claim_update(claim=claim, actor=caseworker, expected_version=1, stage="investigation")
    with pytest.raises(StaleVersion) as stale:
        claim_update(claim=claim, actor=caseworker, expected_version=1, stage="negotiation")
    assert (stale.value.expected, stale.value.current) == (1, 2)
    claim.refresh_from_db()
    assert (claim.stage, claim.version) == ("investigation", 2)
    assert audit_events_for(subject=claim).count() == 1


def test_update_refuses_fields_that_are_not_editable(caseworker):
    claim = ClaimFactory()
    with pytest.raises(ValueError, match="reference"):
        claim_update(claim=claim, actor=caseworker, expected_version=1, reference="CL-1-000001")


def test_closing_without_an_outcome_is_refused(caseworker):
    claim = ClaimFactory()
    with pytest.raises(ValidationError):
        claim_update(claim=claim, actor=caseworker, expected_version=1, status="closed")
    claim.refresh_from_db()
    assert claim.status == "open"


def test_assigning_a_claim_tells_the_assignee_and_is_audited(caseworker, mps_handler):
    from claims.models import ClaimHandling, Notification
    from claims.services import claim_assign
    from handlers.models import HandlerOrganisation

    claim = ClaimFactory()
    ClaimHandling.objects.create(
        claim=claim, organisation=HandlerOrganisation.objects.get(code="MPS")
    )
    claim_assign(claim=claim, actor=caseworker, assignee=mps_handler)
    claim.refresh_from_db()
    assert (claim.assigned_to, claim.version) == (mps_handler, 2)
    notice = Notification.objects.get(recipient=mps_handler)
    assert notice.kind == "claim_assigned"
    assert claim.reference in notice.message
    assert audit_events_for(subject=claim).get(action="claim.assign").actor == caseworker


def test_a_claim_cannot_be_assigned_to_someone_who_may_not_see_it(caseworker, mdu_handler):
    from claims.models import Notification
    from claims.services import claim_assign

    claim = ClaimFactory()
    with pytest.raises(ValidationError):
        claim_assign(claim=claim, actor=caseworker, assignee=mdu_handler)
    claim.refresh_from_db()
    assert claim.assigned_to is None
    assert not Notification.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_references_taken_apart_are_not_held_by_a_long_transaction():
    import threading

    from django.db import connection, transaction

    taken: list[str] = []
    with transaction.atomic():
        first = claim_references_allocate(count=3, year=2031, detached=True)
        # Another request recording a claim meanwhile is not kept waiting by this transaction.
        worker = threading.Thread(
            target=lambda: (
                taken.extend(claim_references_allocate(count=1, year=2031)),
                connection.close(),
            )
        )
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive()
    assert first == ["CL-2031-000001", "CL-2031-000002", "CL-2031-000003"]
    assert taken == ["CL-2031-000004"]


def test_a_deadline_missed_by_a_correction_that_moves_the_claim_is_told_where_it_went(
    caseworker, django_capture_on_commit_callbacks
):
    from claims.models import Deadline, Notification
    from handlers.models import HandlerOrganisation
    from tests.factories import HandlerFactory, UserFactory, recorded_claim

    for code in ("NHSR", "MDU"):
        HandlerFactory(
            user=UserFactory(username=f"{code.lower()}_lead"),
            role="team_lead",
            organisation=HandlerOrganisation.objects.get(code=code),
        )
    # An MDU member's claim after April 2019: CNSGP, NHS Resolution's.
    claim = recorded_claim(
        "MDU", incident_date=datetime.date.today() - datetime.timedelta(days=400)
    )
    assert claim.lead_handler == "NHSR"
    # The incident was really in 2018, before CNSGP: MDU's, its limitation date long past.
    with django_capture_on_commit_callbacks(execute=True):
        claim_update(
            claim=claim,
            actor=caseworker,
            expected_version=claim.version,
            incident_date=datetime.date(2018, 11, 12),
        )
    assert Claim.objects.get(pk=claim.pk).lead_handler == "MDU"
    assert Deadline.objects.get(claim=claim, kind="limitation").status == "missed"
    escalated = set(
        Notification.objects.filter(kind="deadline_escalated").values_list(
            "recipient__username", flat=True
        )
    )
    assert escalated == {"mdu_lead"}
