"""Demo data: practices, members, memberships, employments, claims and the demo accounts.

Deterministic (each record is drawn from a generator seeded by its own number), so running it
again adds nothing, and running it with more claims adds only the new ones. Volumes and case mix
follow domain.md §6; NHS numbers come from the 999 range that is never issued.
"""

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from audit.services import audit_record_many, audit_snapshot
from claims.deadline_services import claims_deadlines_recompute
from claims.models import (
    Activity,
    CareSetting,
    Claim,
    ClaimClinician,
    MatterType,
    MoneyHead,
    Outcome,
    Reserve,
    ServiceLevel,
    Stage,
    Status,
)
from claims.routing_services import BATCH_SIZE as ROUTING_BATCH
from claims.routing_services import claims_route
from claims.services import claim_references_allocate
from handlers.models import Handler, HandlerOrganisation
from handlers.services import account_create
from members.models import DefenceOrganisation, Employment, Member, Membership, Practice
from members.validators import nhs_number_check_digit

DEMO_PASSWORD = "demo-pass-2019"
DEMO_ACCOUNTS = [
    ("caseworker", Handler.Role.CASEWORKER, "NHSR"),
    ("mps_handler", Handler.Role.HANDLER, "MPS"),
    ("mps_team_lead", Handler.Role.TEAM_LEAD, "MPS"),
    ("mdu_handler", Handler.Role.HANDLER, "MDU"),
    ("mddus_handler", Handler.Role.HANDLER, "MDDUS"),
    ("importer", Handler.Role.IMPORTER, "NHSR"),
    ("auditor", Handler.Role.AUDITOR, "NHSR"),
]
DEMO_SOURCE = "NHSR"
PRACTICES = 120
GPS_PER_PRACTICE = 4
TODAY_FOR_DEMO = datetime.date(2026, 11, 23)

TOWNS = [
    "Ashford", "Barnsley", "Bedford", "Bolton", "Bradford", "Brighton", "Bristol", "Burnley",
    "Cambridge", "Carlisle", "Chester", "Colchester", "Coventry", "Crewe", "Derby", "Doncaster",
    "Dudley", "Durham", "Exeter", "Gateshead", "Gloucester", "Grimsby", "Halifax", "Harrogate",
    "Hastings", "Hereford", "Huddersfield", "Ipswich", "Kendal", "Lancaster", "Leeds", "Leicester",
    "Lincoln", "Luton", "Margate", "Norwich", "Oldham", "Oxford", "Penrith", "Plymouth",
    "Preston", "Reading", "Rochdale", "Salford", "Sheffield", "Stockport", "Sunderland", "Truro",
    "Wakefield", "Walsall", "Wigan", "Worcester", "York",
]  # fmt: skip
PRACTICE_KINDS = ["Surgery", "Medical Centre", "Health Centre", "Group Practice", "Family Practice"]
GIVEN = [
    "Aisha", "Amelia", "Ben", "Chloe", "Daniel", "Deepa", "Emma", "Fatima", "George", "Grace",
    "Hannah", "Imran", "Isla", "Jack", "James", "Kwame", "Laura", "Liam", "Maya", "Mohammed",
    "Nadia", "Oliver", "Priya", "Rachel", "Rhys", "Sam", "Sophie", "Tom", "Yusuf", "Zara",
]  # fmt: skip
FAMILY = [
    "Adams", "Ahmed", "Baker", "Bennett", "Brown", "Campbell", "Chen", "Clarke", "Davies", "Evans",
    "Green", "Hall", "Hughes", "Iqbal", "Jones", "Kaur", "Khan", "Lewis", "Martin", "Morris",
    "Nowak", "Okafor", "Patel", "Roberts", "Shah", "Smith", "Taylor", "Walker", "Wilson", "Wright",
]  # fmt: skip
# domain.md §6: causes in CNSGP's first year.
CAUSES = [
    (0.435, "Delayed or failed diagnosis"),
    (0.185, "Medication error"),
    (0.10, "Delayed referral"),
    (0.08, "Failure to act on test results"),
    (0.07, "Consent"),
    (0.13, "Other treatment issue"),
]
MDO_WEIGHTS = [("MPS", 0.5), ("MDU", 0.35), ("MDDUS", 0.15)]


@dataclass
class SeedSummary:
    practices: int = 0
    members: int = 0
    memberships: int = 0
    employments: int = 0
    claims: int = 0
    accounts: int = 0


def _weighted(rng: random.Random, pairs: list[tuple]) -> object:
    return rng.choices([value for value, _ in pairs], weights=[w for _, w in pairs])[0]


def _demo_nhs_number(rng: random.Random) -> str:
    """An NHS number from 999 000 0000 up (reported never issued, domain.md §6) with a valid
    check digit."""
    while True:
        first_nine = f"999{rng.randrange(1_000_000):06d}"
        check = nhs_number_check_digit(first_nine)
        if check is not None:
            return f"{first_nine}{check}"


def _practices() -> list[Practice]:
    rng = random.Random("practices")
    letters = "ABCDEFGHJKLMNPY"
    return [
        Practice(
            ods_code=f"{letters[i % len(letters)]}{81000 + i:05d}",
            name=f"{rng.choice(TOWNS)} {rng.choice(PRACTICE_KINDS)}",
            postcode=f"{rng.choice('BDLMNSY')}{rng.randint(1, 30)} {rng.randint(1, 9)}"
            f"{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}",
        )
        for i in range(PRACTICES)
    ]


def _people_for(practice_index: int) -> list[Member]:
    """Four GPs, a nurse and (every other practice) a clinical pharmacist."""
    rng = random.Random(f"people-{practice_index}")
    roles = ["gp_partner", "gp_partner", "salaried_gp", rng.choice(["locum_gp", "gp_trainee"])]
    members = []
    for slot, role in enumerate(roles):
        members.append(
            Member(
                registration_body="GMC",
                registration_number=f"{6000000 + practice_index * 10 + slot:07d}",
                given_name=rng.choice(GIVEN),
                family_name=rng.choice(FAMILY),
                role=role,
            )
        )
    members.append(
        Member(
            registration_body="NMC",
            registration_number=f"{practice_index:02d}{rng.choice('ABCDEFGHJK')}"
            f"{rng.randint(1000, 9999)}E",
            given_name=rng.choice(GIVEN),
            family_name=rng.choice(FAMILY),
            role="nurse",
        )
    )
    if practice_index % 2 == 0:
        members.append(
            Member(
                registration_body="GPHC",
                registration_number=f"{2200000 + practice_index:07d}",
                given_name=rng.choice(GIVEN),
                family_name=rng.choice(FAMILY),
                role="pharmacist",
            )
        )
    return members


def _memberships_for(member: Member, rng: random.Random, mdos: dict) -> list[Membership]:
    """GPs hold MDO membership from qualification; one in five switched MDO (so routing must use
    the membership on the incident date). Nurses mostly rely on their employer's."""
    if member.role == "nurse" and rng.random() < 0.7:
        return []
    if member.role == "pharmacist" and rng.random() < 0.5:
        return []
    start = datetime.date(rng.randint(2000, 2012), rng.randint(1, 12), 1)
    first = _weighted(rng, MDO_WEIGHTS)
    if rng.random() < 0.2:
        switch = datetime.date(rng.randint(2014, 2021), rng.randint(1, 12), 1)
        second = rng.choice([code for code, _ in MDO_WEIGHTS if code != first])
        return [
            Membership(
                member=member,
                organisation=mdos[first],
                start_date=start,
                end_date=switch - datetime.timedelta(days=1),
            ),
            Membership(member=member, organisation=mdos[second], start_date=switch),
        ]
    return [Membership(member=member, organisation=mdos[first], start_date=start)]


@transaction.atomic
def _seed_reference_people(summary: SeedSummary) -> list[tuple[Practice, list[Member]]]:
    practices = _practices()
    before = Practice.objects.count(), Member.objects.count()
    Practice.objects.bulk_create(practices, ignore_conflicts=True, batch_size=1000)
    summary.practices = Practice.objects.count() - before[0]
    by_code = Practice.objects.in_bulk([p.ods_code for p in practices], field_name="ods_code")
    people = [(by_code[p.ods_code], _people_for(i)) for i, p in enumerate(practices)]
    Member.objects.bulk_create(
        [m for _, ms in people for m in ms], ignore_conflicts=True, batch_size=2000
    )
    stored = {
        (m.registration_body, m.registration_number): m
        for m in Member.objects.filter(
            registration_number__in=[m.registration_number for _, ms in people for m in ms]
        )
    }
    people = [
        (practice, [stored[(m.registration_body, m.registration_number)] for m in ms])
        for practice, ms in people
    ]
    mdos = {o.code: o for o in DefenceOrganisation.objects.all()}
    memberships, employments = [], []
    for practice, members in people:
        partner = members[0]
        for member in members:
            rng = random.Random(f"cover-{member.registration_body}-{member.registration_number}")
            memberships.extend(_memberships_for(member, rng, mdos))
            employments.append(
                Employment(
                    member=member,
                    practice=practice,
                    employer=None if member.role == "gp_partner" else partner,
                    start_date=datetime.date(2008, 4, 1),
                )
            )
    summary.members = Member.objects.count() - before[1]
    before = Membership.objects.count(), Employment.objects.count()
    Membership.objects.bulk_create(memberships, ignore_conflicts=True, batch_size=2000)
    Employment.objects.bulk_create(employments, ignore_conflicts=True, batch_size=2000)
    summary.memberships = Membership.objects.count() - before[0]
    summary.employments = Employment.objects.count() - before[1]
    return people


def _stage_dates(rng: random.Random, stage: str, notified: datetime.date) -> dict:
    """Dates consistent with how far the claim has gone through the Protocol and the court."""
    order = list(Stage.values)
    reached = order.index(stage)
    dates: dict[str, datetime.date] = {}

    def later(base: datetime.date, low: int, high: int) -> datetime.date:
        return min(base + datetime.timedelta(days=rng.randint(low, high)), TODAY_FOR_DEMO)

    dates["records_requested_on"] = notified
    if rng.random() < 0.8:
        dates["records_disclosed_on"] = later(notified, 10, 50)
    if reached >= order.index("letter_of_notification"):
        dates["letter_of_notification_on"] = later(notified, 20, 120)
        if rng.random() < 0.85:
            dates["letter_of_notification_acknowledged_on"] = later(
                dates["letter_of_notification_on"], 2, 20
            )
    if reached >= order.index("letter_of_claim"):
        dates["letter_of_claim_on"] = later(notified, 120, 400)
        if rng.random() < 0.9:
            dates["letter_of_claim_acknowledged_on"] = later(dates["letter_of_claim_on"], 3, 16)
    if reached >= order.index("letter_of_response"):
        dates["letter_of_response_sent_on"] = later(dates["letter_of_claim_on"], 90, 130)
    if reached >= order.index("proceedings_issued"):
        dates["claim_form_issued_on"] = later(dates["letter_of_claim_on"], 150, 500)
    if reached >= order.index("served"):
        dates["claim_form_served_on"] = later(dates["claim_form_issued_on"], 20, 110)
        dates["particulars_served_on"] = dates["claim_form_served_on"]
        if rng.random() < 0.9:
            dates["acknowledgment_of_service_on"] = later(dates["particulars_served_on"], 3, 13)
        if rng.random() < 0.7:
            dates["defence_filed_on"] = later(dates["particulars_served_on"], 14, 40)
    return dates


def _claim(index: int, people: list[tuple[Practice, list[Member]]]) -> tuple[Claim, list[Member]]:
    rng = random.Random(f"claim-{index}")
    practice, members = rng.choice(people)
    # GP claims arrive 3 to 5 years after the incident (domain.md §6), so incidents go back
    # far enough to exercise ELSGP/ELGP as well as CNSGP.
    notified = TODAY_FOR_DEMO - datetime.timedelta(days=rng.randint(0, 6 * 365))
    incident = notified - datetime.timedelta(days=rng.randint(2 * 365, 5 * 365))
    dates: dict = {"incident_date": incident}
    if rng.random() < 0.05:
        # A continuing failure to diagnose, some of them across 2019-04-01.
        dates = {
            "incident_date_from": incident,
            "incident_date_to": incident + datetime.timedelta(days=rng.randint(60, 700)),
        }
    elif rng.random() < 0.02:
        dates = {}
    matter_type = MatterType.MEDICO_LEGAL if rng.random() < 0.05 else MatterType.CLAIM
    care_setting = _weighted(
        rng,
        [
            (CareSetting.GENERAL_PRACTICE, 0.92),
            (CareSetting.TRUST, 0.03),
            (CareSetting.INDEPENDENT_SECTOR, 0.02),
            (CareSetting.OTHER, 0.03),
        ],
    )
    activity = _weighted(
        rng,
        [
            (Activity.NHS_PRIMARY_MEDICAL_SERVICES, 0.9),
            (Activity.NHS_OTHER, 0.04),
            (Activity.PRIVATE, 0.03),
            (Activity.FEE_PAYING, 0.02),
            (Activity.VOLUNTARY, 0.01),
        ],
    )
    stage = _weighted(
        rng,
        [
            (Stage.RECORDS_REQUESTED, 0.18),
            (Stage.LETTER_OF_NOTIFICATION, 0.12),
            (Stage.LETTER_OF_CLAIM, 0.2),
            (Stage.INVESTIGATION, 0.15),
            (Stage.LETTER_OF_RESPONSE, 0.12),
            (Stage.NEGOTIATION, 0.1),
            (Stage.PROCEEDINGS_ISSUED, 0.06),
            (Stage.SERVED, 0.04),
            (Stage.SETTLED, 0.03),
        ],
    )
    closed = stage == Stage.SETTLED or rng.random() < 0.15
    outcome = ""
    if closed:
        outcome = (
            Outcome.CLOSED_WITH_DAMAGES
            if stage == Stage.SETTLED
            else _weighted(
                rng,
                [
                    (Outcome.CLOSED_WITHOUT_DAMAGES, 0.7),
                    (Outcome.CLOSED_WITH_DAMAGES, 0.2),
                    (Outcome.REDIRECTED_TO_MDO, 0.1),
                ],
            )
        )
    born = incident - datetime.timedelta(days=rng.randint(200, 85 * 365))
    died = rng.random() < 0.04
    cause = _weighted(rng, [(text, weight) for weight, text in CAUSES])
    involved = rng.sample(members, k=1 if rng.random() < 0.85 else 2)
    claim = Claim(
        external_ref=f"DEMO-{index:06d}",
        matter_type=matter_type,
        claimant_name=f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}",
        claimant_date_of_birth=born,
        claimant_nhs_number=_demo_nhs_number(rng),
        claimant_date_of_death=(
            min(incident + datetime.timedelta(days=rng.randint(1, 400)), TODAY_FOR_DEMO)
            if died
            else None
        ),
        claimant_lacks_capacity=rng.random() < 0.02,
        practice=practice,
        care_setting=care_setting,
        activity=activity,
        coronavirus_response=(
            incident >= datetime.date(2020, 3, 25)
            and incident <= datetime.date(2021, 12, 31)
            and rng.random() < 0.1
        ),
        notified_on=notified,
        stage=stage,
        status=Status.CLOSED if closed else Status.OPEN,
        outcome=outcome,
        description=f"{cause}. Demo claim {index}.",
        **dates,
        **_stage_dates(rng, stage, notified),
    )
    return claim, involved


def _seed_claims(count: int, people, summary: SeedSummary) -> None:
    source = HandlerOrganisation.objects.get(code=DEMO_SOURCE)
    wanted = {f"DEMO-{i:06d}": i for i in range(1, count + 1)}
    existing = set(
        Claim.objects.filter(source_organisation=source, external_ref__in=wanted).values_list(
            "external_ref", flat=True
        )
    )
    missing = [i for ref, i in wanted.items() if ref not in existing]
    chunk = 5000
    for start in range(0, len(missing), chunk):
        indexes = missing[start : start + chunk]
        with transaction.atomic():
            drawn = [_claim(i, people) for i in indexes]
            references = claim_references_allocate(count=len(drawn))
            claims = []
            for (claim, _), reference in zip(drawn, references, strict=True):
                claim.reference = reference
                claim.source_organisation = source
                claims.append(claim)
            Claim.objects.bulk_create(claims, batch_size=2000)
            ClaimClinician.objects.bulk_create(
                [
                    ClaimClinician(claim=claim, member=member, position=position)
                    for claim, (_, involved) in zip(claims, drawn, strict=True)
                    for position, member in enumerate(involved)
                ],
                batch_size=5000,
            )
            audit_record_many(
                actor=None,
                actor_label="seed_demo",
                action="claim.create",
                changes=((claim, None, audit_snapshot(claim)) for claim in claims),
                reason="Demo data",
            )
            Reserve.objects.bulk_create(
                _demo_reserves(claim, index)
                for claim, index in zip(claims, indexes, strict=True)
                if index % 3 == 0
            )
            for first in range(0, len(claims), ROUTING_BATCH):
                batch = [claim.pk for claim in claims[first : first + ROUTING_BATCH]]
                claims_route(
                    claim_ids=batch, actor=None, actor_label="seed_demo", cause="Claim recorded"
                )
                claims_deadlines_recompute(
                    claim_ids=batch, actor=None, actor_label="seed_demo", reason="Claim recorded"
                )
        summary.claims += len(claims)


def _demo_reserves(claim: Claim, index: int) -> Reserve:
    """A damages reserve on every third demo claim, so the dashboard's reserve chart has
    something to show (pounds and pence, as Decimal)."""
    rng = random.Random(f"reserve-{index}")
    return Reserve(
        claim=claim,
        head=MoneyHead.DAMAGES,
        amount=Decimal(rng.randint(2_000, 400_000)) + Decimal("0.50"),
        reason="Initial reserve",
        set_by_label="seed_demo",
    )


def _seed_accounts(summary: SeedSummary) -> None:
    user_model = get_user_model()
    for username, role, organisation in DEMO_ACCOUNTS:
        if user_model.objects.filter(username=username).exists():
            continue
        account_create(
            actor=None,
            username=username,
            role=role,
            organisation_code=organisation,
            password=DEMO_PASSWORD,
            email=f"{username}@example.org",
        )
        summary.accounts += 1


def _seed_service_levels() -> None:
    """One internal service level, as an example of the data caseworkers keep (domain.md §5)."""
    ServiceLevel.objects.get_or_create(
        kind="acknowledge_new_claim",
        defaults={
            "name": "Acknowledge a new claim within 2 working days",
            "trigger": "notified_on",
            "period": 2,
            "unit": ServiceLevel.Unit.WORKING_DAYS,
        },
    )


def demo_seed(*, claims: int) -> SeedSummary:
    summary = SeedSummary()
    people = _seed_reference_people(summary)
    _seed_service_levels()
    _seed_claims(claims, people, summary)
    _seed_accounts(summary)
    return summary
