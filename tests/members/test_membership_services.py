import datetime

import pytest
from django.core.exceptions import ValidationError

from audit.selectors import audit_events_for
from members.models import DefenceOrganisation, Membership
from members.services import membership_create
from tests.factories import MemberFactory, MembershipFactory

pytestmark = pytest.mark.django_db
D = datetime.date


def test_membership_create_audits_the_new_period(caseworker):
    member = MemberFactory()
    mps = DefenceOrganisation.objects.get(code="MPS")
    membership = membership_create(
        actor=caseworker, member=member, organisation=mps, start_date=D(2010, 1, 1)
    )
    assert audit_events_for(subject=membership).get().after["start_date"] == "2010-01-01"


def test_an_overlapping_membership_is_refused_with_a_clear_message(caseworker):
    existing = MembershipFactory(start_date=D(2010, 1, 1), end_date=D(2015, 12, 31))
    with pytest.raises(ValidationError) as error:
        membership_create(
            actor=caseworker,
            member=existing.member,
            organisation=existing.organisation,
            start_date=D(2015, 6, 1),
        )
    assert error.value.code == "overlapping_membership"
    assert existing.member.key in error.value.message
    assert Membership.objects.count() == 1


def test_the_day_after_a_membership_ends_a_new_one_may_start(caseworker):
    existing = MembershipFactory(start_date=D(2010, 1, 1), end_date=D(2015, 12, 31))
    membership_create(
        actor=caseworker,
        member=existing.member,
        organisation=existing.organisation,
        start_date=D(2016, 1, 1),
    )
    assert Membership.objects.count() == 2


def test_a_membership_ending_before_it_starts_is_refused(caseworker):
    with pytest.raises(ValidationError):
        membership_create(
            actor=caseworker,
            member=MemberFactory(),
            organisation=DefenceOrganisation.objects.get(code="MDU"),
            start_date=D(2016, 1, 2),
            end_date=D(2016, 1, 1),
        )


def test_a_member_added_in_the_workbench_keeps_its_number_in_upper_case(client, caseworker):
    from django.urls import reverse

    from members.models import Member

    client.force_login(caseworker)
    response = client.post(
        reverse("admin:members_member_add"),
        {
            "registration_body": "NMC",
            "registration_number": " 12a3456b ",
            "given_name": "Florence",
            "family_name": "Nightingale",
            "role": "nurse",
            **{
                f"{inline}-{count}": value
                for inline in ("memberships", "employments")
                for count, value in (("TOTAL_FORMS", 0), ("INITIAL_FORMS", 0))
            },
        },
    )
    assert response.status_code == 302
    assert Member.objects.get(family_name="Nightingale").registration_number == "12A3456B"
