"""Every database constraint refuses the data it exists to refuse, at the database itself."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from claims.models import Claim
from members.models import DefenceOrganisation, Membership
from schemes.models import ElsAgreement
from tests.factories import (
    ClaimClinicianFactory,
    ClaimFactory,
    ClaimHandlingFactory,
    DefenceOrganisationFactory,
    ElsAgreementFactory,
    EmploymentFactory,
    HandlerOrganisationFactory,
    MemberFactory,
    MembershipFactory,
    PracticeFactory,
)

pytestmark = pytest.mark.django_db

D = datetime.date


def refused(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_practice_ods_code_is_unique():
    PracticeFactory(ods_code="Y01234")
    refused(lambda: PracticeFactory(ods_code="Y01234"))


def test_practice_ods_code_must_be_letter_and_five_digits():
    refused(lambda: PracticeFactory(ods_code="y01234"))
    refused(lambda: PracticeFactory(ods_code="Y1234"))


def test_member_natural_key_is_unique():
    MemberFactory(registration_body="GMC", registration_number="0123456")
    refused(lambda: MemberFactory(registration_body="GMC", registration_number="0123456"))


def test_same_number_with_another_registration_body_is_another_member():
    MemberFactory(registration_body="GMC", registration_number="0123456")
    MemberFactory(registration_body="NMC", registration_number="0123456")


def test_gmc_member_needs_a_seven_digit_number():
    refused(lambda: MemberFactory(registration_body="GMC", registration_number="123456"))


def test_defence_organisation_code_is_unique_and_upper_case():
    refused(lambda: DefenceOrganisationFactory(code="lower"))
    with pytest.raises(IntegrityError), transaction.atomic():
        DefenceOrganisation.objects.create(code="MPS", name="Another MPS")


def test_handler_organisation_code_is_upper_case():
    refused(lambda: HandlerOrganisationFactory(code="nhsr2"))


def test_membership_cannot_end_before_it_starts():
    refused(lambda: MembershipFactory(start_date=D(2015, 1, 2), end_date=D(2015, 1, 1)))


def test_membership_may_end_on_the_day_it_starts():
    MembershipFactory(start_date=D(2015, 1, 1), end_date=D(2015, 1, 1))


def test_overlapping_memberships_of_one_member_with_one_organisation_are_refused():
    first = MembershipFactory(start_date=D(2010, 1, 1), end_date=D(2015, 12, 31))
    refused(
        lambda: Membership.objects.create(
            member=first.member, organisation=first.organisation, start_date=D(2015, 12, 31)
        )
    )


def test_open_ended_membership_overlaps_any_later_one():
    first = MembershipFactory(start_date=D(2010, 1, 1), end_date=None)
    refused(
        lambda: Membership.objects.create(
            member=first.member, organisation=first.organisation, start_date=D(2030, 1, 1)
        )
    )


def test_consecutive_memberships_do_not_overlap():
    first = MembershipFactory(start_date=D(2010, 1, 1), end_date=D(2015, 12, 31))
    Membership.objects.create(
        member=first.member, organisation=first.organisation, start_date=D(2016, 1, 1)
    )


def test_concurrent_memberships_with_two_organisations_are_allowed():
    first = MembershipFactory(start_date=D(2010, 1, 1))
    Membership.objects.create(
        member=first.member,
        organisation=DefenceOrganisation.objects.get(code="MDU"),
        start_date=D(2012, 1, 1),
    )


def test_employment_cannot_end_before_it_starts():
    refused(lambda: EmploymentFactory(start_date=D(2015, 1, 2), end_date=D(2015, 1, 1)))


def test_employment_natural_key_is_unique():
    job = EmploymentFactory()
    refused(
        lambda: EmploymentFactory(
            member=job.member, practice=job.practice, start_date=job.start_date
        )
    )


def test_nobody_is_their_own_employer():
    member = MemberFactory()
    refused(lambda: EmploymentFactory(member=member, employer=member))


def test_agreement_handover_cannot_precede_the_agreement():
    refused(lambda: ElsAgreementFactory(agreed_on=D(2027, 1, 1), handover_on=D(2026, 12, 31)))


def test_agreement_handover_may_be_unknown():
    ElsAgreementFactory(handover_on=None)


def test_one_agreement_per_organisation_and_date():
    mps = ElsAgreement.objects.get(organisation__code="MPS")
    refused(lambda: ElsAgreementFactory(organisation=mps.organisation, agreed_on=mps.agreed_on))


def test_claim_reference_is_unique():
    ClaimFactory(reference="CL-2024-000123")
    refused(lambda: ClaimFactory(reference="CL-2024-000123"))


def test_claim_reference_is_matched_whole_so_it_has_no_pattern_index():
    # The pattern index unique=True would add costs every imported claim and serves no query.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'claims_claim'"
            " AND indexdef LIKE '%%(reference%%'"
        )
        definitions = [row[0] for row in cursor.fetchall()]
    assert len(definitions) == 1 and "UNIQUE" in definitions[0], definitions


def test_external_ref_is_unique_per_sender():
    claim = ClaimFactory(external_ref="MPS-1")
    refused(
        lambda: ClaimFactory(external_ref="MPS-1", source_organisation=claim.source_organisation)
    )


def test_same_external_ref_from_another_sender_is_another_claim():
    ClaimFactory(external_ref="X-1")
    ClaimFactory(external_ref="X-1", source_organisation=HandlerOrganisationFactory(code="MPS"))


def test_claims_without_external_ref_do_not_collide():
    ClaimFactory(external_ref="")
    ClaimFactory(external_ref="")


def test_incident_range_cannot_end_before_it_starts():
    refused(
        lambda: ClaimFactory(
            incident_date=None,
            incident_date_from=D(2019, 5, 1),
            incident_date_to=D(2019, 4, 30),
        )
    )


def test_incident_range_of_one_day_is_allowed():
    ClaimFactory(
        incident_date=None, incident_date_from=D(2019, 5, 1), incident_date_to=D(2019, 5, 1)
    )


def test_incident_range_needs_both_ends():
    refused(lambda: ClaimFactory(incident_date=None, incident_date_from=D(2019, 5, 1)))
    refused(lambda: ClaimFactory(incident_date=None, incident_date_to=D(2019, 5, 1)))


def test_incident_date_and_range_together_are_refused():
    refused(
        lambda: ClaimFactory(
            incident_date=D(2019, 5, 1),
            incident_date_from=D(2019, 5, 1),
            incident_date_to=D(2019, 6, 1),
        )
    )


def test_unknown_incident_date_is_allowed():
    ClaimFactory(incident_date=None)


def test_closed_claim_needs_an_outcome_and_an_open_one_has_none():
    refused(lambda: ClaimFactory(status="closed", outcome=""))
    refused(lambda: ClaimFactory(status="open", outcome="closed_with_damages"))
    ClaimFactory(status="closed", outcome="closed_without_damages")


def test_stored_nhs_number_is_ten_bare_digits():
    refused(lambda: ClaimFactory(claimant_nhs_number="94347659A9"))
    ClaimFactory(claimant_nhs_number="")


def test_claimant_cannot_die_before_birth():
    refused(
        lambda: ClaimFactory(
            claimant_date_of_birth=D(2000, 1, 2), claimant_date_of_death=D(2000, 1, 1)
        )
    )


def test_claim_version_starts_at_one_or_more():
    refused(lambda: ClaimFactory(version=0))


def test_a_clinician_appears_once_per_claim():
    link = ClaimClinicianFactory()
    refused(lambda: ClaimClinicianFactory(claim=link.claim, member=link.member, position=1))


def test_an_organisation_handles_a_claim_once():
    link = ClaimHandlingFactory()
    refused(lambda: ClaimHandlingFactory(claim=link.claim, organisation=link.organisation))


def test_a_practice_with_claims_cannot_be_deleted():
    claim = ClaimFactory()
    with pytest.raises(ProtectedError), transaction.atomic():
        claim.practice.delete()
    assert Claim.objects.filter(pk=claim.pk).exists()


def test_an_account_that_has_acted_cannot_be_deleted_and_its_records_keep_naming_it(caseworker):
    from audit.models import AuditEvent
    from claims.models import DeadlineChange, RoutingDecision
    from claims.services import claim_create

    claim = claim_create(
        actor=caseworker,
        matter_type="claim",
        claimant_name="Ada Lovelace",
        practice=PracticeFactory(),
        care_setting="general_practice",
        activity="nhs_primary_medical_services",
        incident_date=D(2018, 11, 12),
        letter_of_claim_on=D(2024, 3, 1),
    )
    records = {
        "audit": AuditEvent.objects.filter(actor=caseworker),
        "routing": RoutingDecision.objects.filter(claim=claim, decided_by=caseworker),
        "deadlines": DeadlineChange.objects.filter(deadline__claim=claim, actor=caseworker),
    }
    counts = {name: rows.count() for name, rows in records.items()}
    assert all(counts.values()), counts

    with pytest.raises(ProtectedError), transaction.atomic():
        caseworker.delete()

    assert {name: rows.count() for name, rows in records.items()} == counts
    assert caseworker.__class__.objects.filter(pk=caseworker.pk).exists()


def test_the_author_of_a_note_alone_cannot_be_deleted_either():
    from claims.models import ClaimNote
    from tests.factories import UserFactory

    author = UserFactory()
    ClaimNote.objects.create(claim=ClaimFactory(), author=author, text="Called the practice.")
    with pytest.raises(ProtectedError), transaction.atomic():
        author.delete()
    assert ClaimNote.objects.get().author == author
