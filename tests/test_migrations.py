from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_registration_numbers_stored_as_sent_are_made_upper_case_unless_two_would_merge():
    import importlib

    from django.apps import apps

    from members.models import Member
    from tests.factories import MemberFactory

    migration = importlib.import_module("members.migrations.0003_registration_numbers_upper_case")
    alone = MemberFactory(registration_body="NMC", registration_number="X")
    pair = [
        MemberFactory(registration_body="NMC", registration_number="Y"),
        MemberFactory(registration_body="NMC", registration_number="Z"),
    ]
    Member.objects.filter(pk=alone.pk).update(registration_number="12a3456b")
    Member.objects.filter(pk=pair[0].pk).update(registration_number="99B1234C")
    Member.objects.filter(pk=pair[1].pk).update(registration_number="99b1234c")
    migration.upper_case(apps, None)
    numbers = dict(Member.objects.values_list("pk", "registration_number"))
    assert numbers[alone.pk] == "12A3456B"
    assert (numbers[pair[0].pk], numbers[pair[1].pk]) == ("99B1234C", "99b1234c")
