import datetime

from django.db import migrations

# domain.md §2: code, name, is a state scheme, what it covers, source.
SCHEMES = [
    (
        "CNSGP",
        "Clinical Negligence Scheme for General Practice",
        True,
        "NHS primary medical services (GMS/PMS/APMS, out of hours included) and ancillary NHS "
        "services; incidents on or after 2019-04-01; everyone doing that work, no membership needed.",
        "SI 2019/334; NHSR CNSGP page",
    ),
    (
        "ELSGP",
        "Existing Liabilities Scheme for General Practice",
        True,
        "NHS general-practice liabilities for incidents before 2019-04-01, for members (on the "
        "incident date) of an MDO with a DHSC agreement and their staff; in force from 2020-04-06.",
        "SI 2020/296; NHSR ELSGP page",
    ),
    (
        "ELGP",
        "Existing Liabilities for General Practice (transitional)",
        True,
        "Interim arrangement: an agreement exists but the MDO still handles the claims until its "
        "handover date.",
        "NHSR annual report 2019/20",
    ),
    (
        "CNST",
        "Clinical Negligence Scheme for Trusts",
        True,
        "NHS trusts (and independent-sector CNST members) for incidents on or after 1995-04-01.",
        "NHSR; PQ 81295",
    ),
    ("ELS", "Existing Liabilities Scheme", True, "Trust incidents before 1995-04-01.", "NHSR"),
    (
        "CNSC",
        "Clinical Negligence Scheme for Coronavirus",
        True,
        "NHS activity for the coronavirus response, from 2020-03-25, only where no other indemnity "
        "covers it.",
        "Coronavirus Act 2020 s.11; NHSR/NHSE&I/DHSC letter of 2020-04-02",
    ),
    (
        "NO_STATE_SCHEME",
        "No state scheme",
        False,
        "Private, fee-paying and voluntary work; pre-2019 liabilities of MDOs without an agreement.",
        "domain.md §2",
    ),
    (
        "NOT_A_CLAIM",
        "Not a claim (medico-legal)",
        False,
        "GMC investigations, inquests, plain complaints and other medico-legal matters.",
        "domain.md §2",
    ),
    (
        "UNDETERMINED",
        "Undetermined (triage)",
        False,
        "Not enough facts to route: a caseworker decides.",
        "domain.md §4",
    ),
]

# domain.md §3. The agreed-on dates are assumptions (see docs/routing.md); caseworkers edit them.
AGREEMENTS = [
    (
        "MPS",
        datetime.date(2019, 4, 1),
        datetime.date(2021, 4, 1),
        "Agreement in principle announced April 2019 (agreed-on date is an assumption); 2,005 "
        "ELSGP claims migrated from MPS in 2021/22.",
    ),
    (
        "MDDUS",
        datetime.date(2019, 9, 1),
        datetime.date(2020, 4, 6),
        'Sources say "September 2019" (agreed-on date is an assumption).',
    ),
]


def add_reference_data(apps, schema_editor):
    Scheme = apps.get_model("schemes", "Scheme")
    ElsAgreement = apps.get_model("schemes", "ElsAgreement")
    DefenceOrganisation = apps.get_model("members", "DefenceOrganisation")
    for code, name, is_state, covers, source in SCHEMES:
        Scheme.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "is_state_scheme": is_state,
                "covers": covers,
                "source": source,
            },
        )
    for mdo_code, agreed_on, handover_on, notes in AGREEMENTS:
        ElsAgreement.objects.update_or_create(
            organisation=DefenceOrganisation.objects.get(code=mdo_code),
            agreed_on=agreed_on,
            defaults={"handover_on": handover_on, "notes": notes},
        )


def remove_reference_data(apps, schema_editor):
    apps.get_model("schemes", "ElsAgreement").objects.all().delete()
    apps.get_model("schemes", "Scheme").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("schemes", "0001_initial"),
        ("members", "0002_reference_data_and_no_overlap"),
    ]

    operations = [migrations.RunPython(add_reference_data, remove_reference_data)]
