"""Indexes for the caseworkers' admin (issue 6): one for every filter and order the claim list
offers, and a trigram index for searching the claimant's name anywhere in it."""

from django.db import migrations, models

# Django's icontains on PostgreSQL is UPPER(column::text) LIKE UPPER(pattern): the index is on
# that same expression, so a search for part of a name reads the index, not a million rows.
NAME_TRIGRAMS = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS claim_claimant_name_trgm
    ON claims_claim USING gin ((UPPER(claimant_name::text)) gin_trgm_ops);
"""


def add_name_trigrams(apps, schema_editor):
    # Trigram indexes are PostgreSQL's; the SQLite demo searches its few thousand rows without.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NAME_TRIGRAMS)


def drop_name_trigrams(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS claim_claimant_name_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0006_money_notes_imports"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="claim",
            name="claim_created_at",
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(fields=["created_at", "id"], name="claim_created_at_id"),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(
                models.OrderBy(models.F("needs_triage"), descending=True),
                models.F("created_at"),
                models.F("id"),
                condition=models.Q(
                    ("status", "open"),
                    models.Q(
                        ("needs_triage", True),
                        ("possible_duplicate_of__isnull", False),
                        _connector="OR",
                    ),
                ),
                name="claim_triage_open",
            ),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(
                condition=models.Q(("incident_date_to__isnull", False)),
                fields=["incident_date_to"],
                name="claim_incident_to",
            ),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(
                models.F("created_at"),
                models.F("id"),
                condition=models.Q(("flags__contains", "APPORTIONMENT_REQUIRED")),
                name="claim_apportionment",
            ),
        ),
        migrations.AddIndex(
            model_name="deadline",
            index=models.Index(
                condition=models.Q(("status__in", ["open", "missed"])),
                fields=["due_on", "claim"],
                name="deadline_unmet_due_on",
            ),
        ),
        migrations.RunPython(add_name_trigrams, drop_name_trigrams),
    ]
