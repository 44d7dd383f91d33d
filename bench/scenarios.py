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
