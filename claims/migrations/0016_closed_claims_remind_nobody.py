# A closed claim's deadlines remind nobody (claims.deadline_services): the reminder days of
# deadlines of claims closed before this rule are cleared; reopening a claim sets them again.

from django.db import migrations


def closed_claims_remind_nobody(apps, schema_editor):
    Deadline = apps.get_model("claims", "Deadline")
    Deadline.objects.filter(remind_on__isnull=False, claim__status="closed").update(remind_on=None)


class Migration(migrations.Migration):
    dependencies = [("claims", "0015_claim_reference_without_pattern_index")]

    operations = [migrations.RunPython(closed_claims_remind_nobody, migrations.RunPython.noop)]
