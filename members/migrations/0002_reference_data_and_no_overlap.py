from django.db import migrations

MDOS = [
    ("MPS", "Medical Protection Society"),
    ("MDU", "Medical Defence Union"),
    ("MDDUS", "Medical and Dental Defence Union of Scotland"),
]

NO_OVERLAP = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE members_membership ADD CONSTRAINT membership_no_overlap
    EXCLUDE USING gist (
        member_id WITH =,
        organisation_id WITH =,
        daterange(start_date, end_date, '[]') WITH &&
    );
"""


def add_no_overlap(apps, schema_editor):
    # Routing reads one membership per member, organisation and date (domain.md §1): overlapping
    # periods would make that ambiguous. Only PostgreSQL has exclusion constraints; the SQLite
    # demo relies on members.services.membership_overlaps.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NO_OVERLAP)


def drop_no_overlap(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE members_membership DROP CONSTRAINT IF EXISTS membership_no_overlap"
        )


def add_mdos(apps, schema_editor):
    DefenceOrganisation = apps.get_model("members", "DefenceOrganisation")
    for code, name in MDOS:
        DefenceOrganisation.objects.update_or_create(
            code=code, defaults={"name": name, "kind": "mdo"}
        )


def remove_mdos(apps, schema_editor):
    apps.get_model("members", "DefenceOrganisation").objects.filter(
        code__in=[code for code, _ in MDOS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("members", "0001_initial")]

    operations = [
        migrations.RunPython(add_no_overlap, drop_no_overlap),
        migrations.RunPython(add_mdos, remove_mdos),
    ]
