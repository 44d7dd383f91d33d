"""Benchmark scenarios. Each returns a dict of figures; the runner adds wall time."""

import time
from collections.abc import Callable

SCENARIOS: dict[str, Callable[[], dict]] = {}


def scenario(name: str):
    def register(run: Callable[[], dict]) -> Callable[[], dict]:
        SCENARIOS[name] = run
        return run

    return register


@scenario("seed_demo_10k_claims")
def seed_demo_10k() -> dict:
    """Foundation target: 10,000 demo claims in well under a minute."""
    from claims.demo_seed import demo_seed

    started = time.perf_counter()
    summary = demo_seed(claims=10_000)
    seconds = time.perf_counter() - started
    return {
        "claims": summary.claims,
        "seconds": round(seconds, 2),
        "claims_per_second": round(summary.claims / seconds),
    }


@scenario("claim_lookup_by_nhs_number")
def claim_lookup_by_nhs_number() -> dict:
    """The indexed search a caseworker runs most: one NHS number among all claims."""
    from django.db import connection, reset_queries

    from claims.models import Claim

    numbers = list(Claim.objects.values_list("claimant_nhs_number", flat=True)[:200])
    started = time.perf_counter()
    for number in numbers:
        list(Claim.objects.filter(claimant_nhs_number=number).values_list("reference"))
    seconds = time.perf_counter() - started
    reset_queries()
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT id FROM claims_claim WHERE claimant_nhs_number = %s", [numbers[0]]
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    return {
        "lookups": len(numbers),
        "ms_per_lookup": round(seconds * 1000 / len(numbers), 3),
        "uses_index": "claim_nhs_number" in plan,
    }


def _bulk_pre_2019_claims(count: int) -> None:
    """`count` open pre-2019 practice claims, each against one GP, half of them MDU members:
    the population an MDU agreement would move."""
    import datetime
    import random

    from claims.models import Claim, ClaimClinician
    from claims.services import claim_references_allocate
    from handlers.models import HandlerOrganisation
    from members.models import DefenceOrganisation, Member, Membership, Practice

    rng = random.Random(7)
    practice, _ = Practice.objects.get_or_create(ods_code="Y90000", defaults={"name": "Bench"})
    mdos = {o.code: o for o in DefenceOrganisation.objects.all()}
    gps = Member.objects.bulk_create(
        [
            Member(
                registration_body="GMC",
                registration_number=f"{8000000 + i:07d}",
                given_name="Bench",
                family_name=f"GP{i}",
                role="gp_partner",
            )
            for i in range(2000)
        ]
    )
    Membership.objects.bulk_create(
        [
            Membership(
                member=gp,
                organisation=mdos["MDU" if i % 2 else "MPS"],
                start_date=datetime.date(2000, 1, 1),
            )
            for i, gp in enumerate(gps)
        ]
    )
    source = HandlerOrganisation.objects.get(code="NHSR")
    chunk = 10_000
    for first in range(0, count, chunk):
        size = min(chunk, count - first)
        references = claim_references_allocate(count=size, year=2090)
        claims = Claim.objects.bulk_create(
            [
                Claim(
                    reference=reference,
                    external_ref=f"BENCH-{first + i}",
                    source_organisation=source,
                    matter_type="claim",
                    claimant_name="Bench Claimant",
                    practice=practice,
                    care_setting="general_practice",
                    activity="nhs_primary_medical_services",
                    incident_date=datetime.date(2015, 1, 1)
                    + datetime.timedelta(days=rng.randrange(1500)),
                )
                for i, reference in enumerate(references)
            ],
            batch_size=5000,
        )
        ClaimClinician.objects.bulk_create(
            [
                ClaimClinician(claim=c, member=gps[(first + i) % len(gps)])
                for i, c in enumerate(claims)
            ],
            batch_size=10_000,
        )


@scenario("reroute_100k_claims")
def reroute_100k_claims() -> dict:
    """Routing target: re-route 100,000 stored claims when an agreement is applied, at 20,000
    claims per second or more, with a constant number of queries per batch."""
    import datetime

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from claims.models import RoutingJob
    from claims.routing_services import routing_job_run
    from members.models import DefenceOrganisation
    from schemes.models import ElsAgreement

    count = 100_000
    _bulk_pre_2019_claims(count)
    first = RoutingJob.objects.create(kind="handover", decision_date=datetime.date(2026, 1, 1))
    started = time.perf_counter()
    routing_job_run(job_id=first.pk)
    first_seconds = time.perf_counter() - started

    ElsAgreement.objects.create(
        organisation=DefenceOrganisation.objects.get(code="MDU"),
        agreed_on=datetime.date(2026, 2, 1),
        handover_on=datetime.date(2027, 4, 1),
    )
    job = RoutingJob.objects.create(kind="agreement", decision_date=datetime.date(2026, 3, 1))
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        routing_job_run(job_id=job.pk)
        seconds = time.perf_counter() - started
    job.refresh_from_db()
    batches = -(-job.rows_total // 2000)
    return {
        "claims": job.rows_total,
        "first_routing_per_second": round(count / first_seconds),
        "moved": job.moved,
        "seconds": round(seconds, 2),
        "rerouted_per_second": round(job.rows_total / seconds),
        "queries": len(queries),
        "queries_per_batch": round(len(queries) / batches, 1),
    }


@scenario("deadline_sweep_1m")
def deadline_sweep_1m() -> dict:
    """Deadlines target: the daily sweep over 1,000,000 open deadlines under 10 seconds."""
    import datetime

    from django.db import connection

    from claims.deadline_services import deadlines_sweep
    from claims.models import Claim, Deadline, Notification
    from handlers.models import Handler, HandlerOrganisation
    from handlers.services import account_create

    if not Claim.objects.exists():
        _bulk_pre_2019_claims(100_000)
    Claim.objects.update(lead_handler="MPS", handlers="MPS")
    if not Handler.objects.filter(role="team_lead", organisation__code="MPS").exists():
        account_create(
            actor=None,
            username="bench_lead",
            role="team_lead",
            organisation_code="MPS",
            password="bench-only",
            email="lead@example.org",
        )
    HandlerOrganisation.objects.get(code="MPS")
    today = datetime.date(2026, 6, 1)
    Deadline.objects.all().delete()
    with connection.cursor() as cursor:
        # Ten deadlines per claim, due from 60 days ago to 300 days ahead; reminders for those
        # 14, 7 and 1 days out, as deadline_services.remind_on_for would set them.
        cursor.execute(
            """
            INSERT INTO claims_deadline
                (claim_id, kind, category, due_on, suspended, status, non_working_day, source,
                 waived_reason, remind_on, updated_at)
            SELECT claim.id, 'bench_' || n, 'internal', due, false, 'open', false, 'bench', '',
                   CASE WHEN due - 1 < %s THEN NULL
                        WHEN due - 7 < %s THEN due - 1
                        WHEN due - 14 < %s THEN due - 7
                        ELSE due - 14 END,
                   now()
              FROM claims_claim AS claim,
                   generate_series(1, 10) AS n,
                   LATERAL (SELECT %s::date + (((claim.id * 7 + n * 31) %% 360) - 60)::int AS due) d
            """,
            [today, today, today, today],
        )
        cursor.execute("ANALYZE claims_deadline")
    open_deadlines = Deadline.objects.filter(status="open").count()
    Notification.objects.all().delete()
    # First the backlog a new installation meets (every past-due deadline at once), then an
    # ordinary day: what the daily sweep really does.
    started = time.perf_counter()
    backlog = deadlines_sweep(today=today - datetime.timedelta(days=1))
    backlog_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = deadlines_sweep(today=today)
    seconds = time.perf_counter() - started
    from config.celery import app

    # The e-mails were queued on the bench's own broker database; nobody is there to send them.
    app.control.purge()
    return {
        "open_deadlines": open_deadlines,
        "backlog_missed": backlog.missed,
        "backlog_seconds": round(backlog_seconds, 2),
        "backlog_notifications_per_second": round(backlog.notifications / backlog_seconds),
        "reminded": result.reminded,
        "missed": result.missed,
        "notifications": result.notifications,
        "seconds": round(seconds, 2),
        "notifications_per_second": round(result.notifications / seconds),
    }


def _import_population(practices: int = 200, gps: int = 2000) -> None:
    """Practices and GPs with MPS or MDU memberships for imported claims to name."""
    import datetime

    from members.models import DefenceOrganisation, Member, Membership, Practice

    if Practice.objects.filter(ods_code="Y70000").exists():
        return
    Practice.objects.bulk_create(
        Practice(ods_code=f"Y{70000 + n:05d}", name=f"Import Practice {n}")
        for n in range(practices)
    )
    members = Member.objects.bulk_create(
        Member(
            registration_body="GMC",
            registration_number=f"{7000000 + n:07d}",
            given_name="Import",
            family_name=f"GP{n}",
            role="gp_partner",
        )
        for n in range(gps)
    )
    mdos = {o.code: o for o in DefenceOrganisation.objects.all()}
    Membership.objects.bulk_create(
        Membership(
            member=member,
            organisation=mdos[("MPS", "MDU", "MDDUS")[n % 3]],
            start_date=datetime.date(2000, 1, 1),
        )
        for n, member in enumerate(members)
    )


_IMPORT_HEADER = [
    "external_ref",
    "matter_type",
    "claimant__name",
    "claimant__date_of_birth",
    "claimant__nhs_number",
    "practice",
    "clinicians",
    "care_setting",
    "activity",
    "incident_date",
    "notified_on",
    "stage",
    "letter_of_claim_on",
    "description",
]


def _import_rows(count: int, prefix: str):
    import datetime
    import random

    from tests.factories import valid_nhs_number

    rng = random.Random(count)
    for n in range(count):
        incident = datetime.date(2014, 1, 1) + datetime.timedelta(days=rng.randrange(3650))
        letter = incident + datetime.timedelta(days=900 + rng.randrange(900))
        clinicians = [f"GMC:{7000000 + rng.randrange(2000):07d}"]
        if n % 5 == 0:
            clinicians.append(f"GMC:{7000000 + rng.randrange(2000):07d}")
        yield [
            f"{prefix}-{n}",
            "claim",
            f"Claimant {n}",
            (datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(20000))).isoformat(),
            valid_nhs_number(n),
            f"Y{70000 + rng.randrange(200):05d}",
            ";".join(dict.fromkeys(clinicians)),
            "general_practice",
            "nhs_primary_medical_services",
            incident.isoformat(),
            letter.isoformat(),
            "letter_of_claim",
            letter.isoformat(),
            "Delayed diagnosis",
        ]


def _csv_body(count: int, prefix: str) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_IMPORT_HEADER)
    writer.writerows(_import_rows(count, prefix))
    return out.getvalue().encode()


def _json_body(count: int, prefix: str) -> bytes:
    import json

    records = []
    for row in _import_rows(count, prefix):
        record: dict = {}
        for name, value in zip(_IMPORT_HEADER, row, strict=True):
            if name.startswith("claimant__"):
                record.setdefault("claimant", {})[name.split("__")[1]] = value
            elif name == "clinicians":
                record[name] = value.split(";")
            else:
                record[name] = value
        records.append(record)
    return json.dumps(records).encode()


def _copy_seconds(body: bytes) -> float:
    """The floor: the same CSV rows loaded by COPY into a bare table of text columns."""
    from django.db import connection

    columns = ", ".join(f"{name} text" for name in _IMPORT_HEADER)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_claims")
        cursor.execute(f"CREATE TABLE bench_bare_claims ({columns})")
        started = time.perf_counter()
        with cursor.cursor.copy(
            "COPY bench_bare_claims FROM STDIN WITH (FORMAT csv, HEADER true)"
        ) as copy:
            copy.write(body)
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_bare_claims")
    return seconds


def _import_through_api(body: bytes, content_type: str) -> tuple[float, dict]:
    """POST through the API (the test client: the whole Django and DRF stack, no network) and,
    for a queued batch, run the task in this process as a worker would."""
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from claims.import_services import import_batch_run
    from claims.models import ImportBatch
    from handlers.models import Handler
    from handlers.services import account_create

    if not Handler.objects.filter(user__username="bench_importer").exists():
        account_create(
            actor=None,
            username="bench_importer",
            role="importer",
            organisation_code="MPS",
            password="bench-only-password",
        )
    token = Token.objects.get(user__username="bench_importer").key
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    started = time.perf_counter()
    response = client.post("/api/v1/imports/claims/", body, content_type=content_type, secure=True)
    assert response.status_code in (201, 202), response.content[:500]
    batch_id = response.json()["batch"]
    import_batch_run(batch_id=batch_id)
    seconds = time.perf_counter() - started
    batch = ImportBatch.objects.get(pk=batch_id)
    assert batch.status == "done" and batch.created == batch.rows_total, (
        batch.status,
        batch.errors[:3],
        batch.failure,
    )
    return seconds, {"created": batch.created}


@scenario("import_claims_api")
def import_claims_api() -> dict:
    """Imports target: 10,000 and 100,000 claims through the API, JSON and CSV, routed, with
    deadlines and audit, at 5,000 claims/s or more and at least 0.10 of a bare COPY of the same
    rows; memory bounded while a 100,000-row CSV streams in."""
    import tempfile
    import tracemalloc

    from django.contrib.auth import get_user_model

    from claims.import_services import import_batch_run, import_submit

    _import_population()
    figures: dict = {}
    for count in (10_000, 100_000):
        csv_body = _csv_body(count, f"C{count}")
        copy_rate = count / _copy_seconds(csv_body)
        figures[f"copy_{count}_per_second"] = round(copy_rate)
        for form, body, content_type in (
            ("csv", csv_body, "text/csv"),
            ("json", _json_body(count, f"J{count}"), "application/json"),
        ):
            seconds, _ = _import_through_api(body, content_type)
            rate = count / seconds
            figures[f"{form}_{count}_per_second"] = round(rate)
            figures[f"{form}_{count}_ratio_to_copy"] = round(rate / copy_rate, 3)
    # Memory: the 100,000-row CSV streamed from a file through the service, as the view does.
    body = _csv_body(100_000, "M100000")
    figures["csv_100000_body_mib"] = round(len(body) / 2**20, 1)
    user = get_user_model().objects.get(username="bench_importer")
    with tempfile.TemporaryFile() as stream:
        stream.write(body)
        stream.seek(0)
        del body
        tracemalloc.start()
        submission = import_submit(
            actor=user, kind="claims", mode="atomic", content_type="text/csv", stream=stream
        )
        import_batch_run(batch_id=submission.batch.pk)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    figures["csv_100000_peak_traced_mib"] = round(peak / 2**20, 1)
    return figures
