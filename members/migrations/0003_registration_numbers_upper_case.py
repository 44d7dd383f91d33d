"""Registration numbers are kept in upper case from now on (imports and the workbench read them
so): numbers stored as sent before are made upper case, unless that would make two members of
one, which is left for a caseworker to merge."""

from django.db import migrations
from django.db.models.functions import Upper


def upper_case(apps, schema_editor):
    Member = apps.get_model("members", "Member")
    taken = set(Member.objects.values_list("registration_body", "registration_number"))
    for member in Member.objects.exclude(registration_number=Upper("registration_number")):
        key = (member.registration_body, member.registration_number.upper())
        if key in taken:
            continue
        taken.add(key)
        Member.objects.filter(pk=member.pk).update(registration_number=key[1])


class Migration(migrations.Migration):
    dependencies = [("members", "0002_reference_data_and_no_overlap")]

    operations = [migrations.RunPython(upper_case, migrations.RunPython.noop)]
