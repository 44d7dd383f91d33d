from django.db import migrations

ORGANISATIONS = [
    ("NHSR", "NHS Resolution", None),
    ("MPS", "Medical Protection Society", "MPS"),
    ("MDU", "Medical Defence Union", "MDU"),
    ("MDDUS", "Medical and Dental Defence Union of Scotland", "MDDUS"),
]


def add_organisations(apps, schema_editor):
    HandlerOrganisation = apps.get_model("handlers", "HandlerOrganisation")
    DefenceOrganisation = apps.get_model("members", "DefenceOrganisation")
    for code, name, mdo_code in ORGANISATIONS:
        mdo = DefenceOrganisation.objects.get(code=mdo_code) if mdo_code else None
        HandlerOrganisation.objects.update_or_create(
            code=code, defaults={"name": name, "defence_organisation": mdo}
        )


def remove_organisations(apps, schema_editor):
    apps.get_model("handlers", "HandlerOrganisation").objects.filter(
        code__in=[code for code, _, _ in ORGANISATIONS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("handlers", "0001_initial"),
        ("members", "0002_reference_data_and_no_overlap"),
    ]

    operations = [migrations.RunPython(add_organisations, remove_organisations)]
