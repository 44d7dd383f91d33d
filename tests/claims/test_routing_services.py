"""Routing stored claims: facts from memberships and employments, decisions stored with their
reasons, moves recorded, re-routes idempotent (domain.md §4, issue: routing)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from claims.models import Claim, ClaimClinician, RoutingDecision, RoutingJob
from claims.routing_services import (
    claims_preview_moves,
    claims_route,
    routing_job_run,
    routing_job_start,
)
from members.models import DefenceOrganisation, Member
from schemes.models import ElsAgreement
from tests.factories import (
    ClaimFactory,
    EmploymentFactory,
    MemberFactory,
    MembershipFactory,
)

pytestmark = pytest.mark.django_db
D = datetime.date


def mdo(code: str) -> DefenceOrganisation:
    return DefenceOrganisation.objects.get(code=code)


def gp_with(code: str, start: datetime.date | None = None, end=None) -> Member:
    member = MemberFactory()
    MembershipFactory(
        member=member, organisation=mdo(code), start_date=start or D(2005, 1, 1), end_date=end
    )
    return member


def claim_against(*members, **fields) -> Claim:
    claim = ClaimFactory(**fields)
    for position, member in enumerate(members):
        ClaimClinician.objects.create(claim=claim, member=member, position=position)
    return claim


def route(claim: Claim, on: datetime.date, **kwargs):
    outcome = claims_route(
        claim_ids=[claim.pk], actor=None, cause="test", decision_date=on, **kwargs
    )
    claim.refresh_from_db()
    return outcome


def handlers_of(claim: Claim) -> set[str]:
    return set(claim.handling_organisations.values_list("code", flat=True))


def test_mps_member_pre_2019_during_interim_handling_goes_to_mps():
    claim = claim_against(gp_with("MPS"), incident_date=D(2018, 11, 12))
    route(claim, D(2021, 3, 31))
    assert (claim.schemes, claim.lead_handler) == ("ELGP", "MPS")
    assert handlers_of(claim) == {"MPS"}
    assert not claim.needs_triage


def test_mps_member_pre_2019_on_handover_day_goes_to_nhsr():
    claim = claim_against(gp_with("MPS"), incident_date=D(2018, 11, 12))
    route(claim, D(2021, 4, 1))
    assert (claim.schemes, claim.lead_handler) == ("ELSGP", "NHSR")
    assert handlers_of(claim) == {"NHSR"}


def test_membership_on_the_incident_date_decides_not_the_current_one():
    gp = gp_with("MDU", start=D(2005, 1, 1), end=D(2018, 12, 31))
    MembershipFactory(member=gp, organisation=mdo("MPS"), start_date=D(2019, 1, 1))
    claim = claim_against(gp, incident_date=D(2018, 11, 12))
    route(claim, D(2024, 5, 1))
    assert (claim.schemes, claim.lead_handler) == ("NO_STATE_SCHEME", "MDU")


def test_the_day_a_new_membership_starts_it_is_the_one_at_the_incident():
    gp = gp_with("MDU", start=D(2005, 1, 1), end=D(2018, 11, 11))
    MembershipFactory(member=gp, organisation=mdo("MPS"), start_date=D(2018, 11, 12))
    claim = claim_against(gp, incident_date=D(2018, 11, 12))
    route(claim, D(2024, 5, 1))
    assert claim.lead_handler == "NHSR"
    assert claim.schemes == "ELSGP"


def test_a_membership_that_ends_on_the_incident_day_still_covers_it():
    claim = claim_against(
        gp_with("MPS", start=D(2005, 1, 1), end=D(2018, 11, 12)), incident_date=D(2018, 11, 12)
    )
    route(claim, D(2024, 5, 1))
    assert (claim.schemes, claim.lead_handler) == ("ELSGP", "NHSR")


def test_practice_nurse_without_cover_takes_her_employing_gps_mdo():
    partner = gp_with("MPS")
    nurse = MemberFactory(role="nurse", registration_body="NMC", registration_number="12A3456E")
    job = EmploymentFactory(member=nurse, employer=partner, start_date=D(2010, 1, 1))
    claim = claim_against(nurse, incident_date=D(2018, 11, 12), practice=job.practice)
    route(claim, D(2020, 6, 1))
    assert (claim.schemes, claim.lead_handler) == ("ELGP", "MPS")


def test_an_employment_that_ends_on_the_incident_day_still_gives_the_employers_mdo():
    partner = gp_with("MPS")
    nurse = MemberFactory(role="nurse", registration_body="NMC", registration_number="12A3458E")
    job = EmploymentFactory(
        member=nurse, employer=partner, start_date=D(2010, 1, 1), end_date=D(2018, 11, 12)
    )
    claim = claim_against(nurse, incident_date=D(2018, 11, 12), practice=job.practice)
    route(claim, D(2020, 6, 1))
    assert (claim.schemes, claim.lead_handler) == ("ELGP", "MPS")


def test_employment_that_ended_before_the_incident_gives_no_employer_mdo():
    partner = gp_with("MPS")
    nurse = MemberFactory(role="nurse", registration_body="NMC", registration_number="12A3457E")
    EmploymentFactory(
        member=nurse, employer=partner, start_date=D(2010, 1, 1), end_date=D(2018, 11, 11)
    )
    claim = claim_against(nurse, incident_date=D(2018, 11, 12))
    route(claim, D(2020, 6, 1))
    assert (claim.schemes, claim.lead_handler, claim.flags) == (
        "NO_STATE_SCHEME",
        "",
        "MANUAL_REVIEW",
    )
    assert claim.needs_triage


def test_split_range_looks_up_membership_on_each_segment_start():
    gp = gp_with("MDU", start=D(2005, 1, 1), end=D(2019, 3, 31))
    MembershipFactory(member=gp, organisation=mdo("MPS"), start_date=D(2019, 4, 1))
    claim = claim_against(
        gp,
        incident_date=None,
        incident_date_from=D(2018, 9, 1),
        incident_date_to=D(2020, 2, 28),
    )
    route(claim, D(2023, 6, 1))
    segments = list(claim.segments.values_list("start_date", "end_date", "scheme", "handler"))
    assert segments == [
        (D(2018, 9, 1), D(2019, 3, 31), "NO_STATE_SCHEME", "MDU"),
        (D(2019, 4, 1), D(2020, 2, 28), "CNSGP", "NHSR"),
    ]
    assert claim.flags == "APPORTIONMENT_REQUIRED"
    assert claim.lead_handler == "NHSR"
    assert handlers_of(claim) == {"MDU", "NHSR"}


def test_unknown_incident_date_lands_in_triage():
    claim = claim_against(gp_with("MPS"), incident_date=None)
    route(claim, D(2024, 5, 1))
    assert (claim.schemes, claim.lead_handler, claim.needs_triage) == ("UNDETERMINED", "NHSR", True)


def test_a_decision_is_stored_with_facts_reasons_and_rule_version():
    claim = claim_against(gp_with("MPS"), incident_date=D(2018, 11, 12))
    route(claim, D(2020, 6, 1))
    decision = RoutingDecision.objects.get(claim=claim)
    assert decision.decision_date == D(2020, 6, 1)
    assert decision.facts["incident_date"] == "2018-11-12"
    assert decision.facts["clinicians"][0]["mdo_at_incident"] == "MPS"
    assert decision.outcome["schemes"] == ["ELGP"]
    assert any("2019-04-01" in reason for reason in decision.outcome["reasons"])
    assert decision.rule_version
    assert decision.previous is None


def test_rerouting_on_handover_day_moves_the_claim_and_records_before_and_after():
    claim = claim_against(gp_with("MPS"), incident_date=D(2018, 11, 12))
    route(claim, D(2021, 3, 31))
    version = claim.version
    outcome = route(claim, D(2021, 4, 1), record_all=False)
    assert len(outcome.moves) == 1
    assert (claim.lead_handler, claim.version) == ("NHSR", version + 1)
    latest = RoutingDecision.objects.filter(claim=claim).first()
    assert latest.previous == {
        "schemes": ["ELGP"],
        "lead_handler": "MPS",
        "handlers": ["MPS"],
        "flags": [],
    }
    move = AuditEvent.objects.filter(subject_id=str(claim.pk), action="claim.route").first()
    assert move.before["lead_handler"] == "MPS"
    assert move.after["lead_handler"] == "NHSR"


def test_rerouting_twice_moves_nothing_the_second_time():
    claim = claim_against(gp_with("MPS"), incident_date=D(2018, 11, 12))
    route(claim, D(2021, 3, 31))
    route(claim, D(2021, 4, 1), record_all=False)
    decisions = RoutingDecision.objects.count()
    version = Claim.objects.get(pk=claim.pk).version
    outcome = route(claim, D(2021, 4, 1), record_all=False)
    assert outcome.moves == []
    assert RoutingDecision.objects.count() == decisions
    assert Claim.objects.get(pk=claim.pk).version == version


def test_handover_job_moves_open_claims_and_leaves_closed_ones_where_they_were():
    gp = gp_with("MPS")
    open_claim = claim_against(gp, incident_date=D(2018, 11, 12))
    closed_claim = claim_against(gp, incident_date=D(2018, 10, 1))
    for claim in (open_claim, closed_claim):
        route(claim, D(2021, 3, 31))
    Claim.objects.filter(pk=closed_claim.pk).update(status="closed", outcome="closed_with_damages")
    job = RoutingJob.objects.create(kind=RoutingJob.Kind.HANDOVER, decision_date=D(2021, 4, 1))
    routing_job_run(job_id=job.pk)
    job.refresh_from_db()
    open_claim.refresh_from_db()
    closed_claim.refresh_from_db()
    assert (job.status, job.rows_total, job.rows_done, job.moved) == ("done", 1, 1, 1)
    assert open_claim.lead_handler == "NHSR"
    assert closed_claim.lead_handler == "MPS"


def _statistics_forgotten(tables: list[str]) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute("UPDATE pg_class SET reltuples = -1 WHERE relname = %s", [table])


def _rows_counted_by_statistics(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def test_a_job_that_moved_claims_leaves_the_planner_statistics_of_what_it_rewrote():
    """A handover moves thousands of claims at once; the portal's lists are planned from the
    statistics of the claims and of who handles them, refreshed as the job ends (Celery runs
    eagerly here)."""
    gp = gp_with("MPS")
    claims = [claim_against(gp, incident_date=D(2018, 11, 12)) for _ in range(3)]
    for claim in claims:
        route(claim, D(2021, 3, 31))
    tables = ["claims_claim", "claims_claimhandling", "claims_routingdecision"]
    _statistics_forgotten(tables)
    job = RoutingJob.objects.create(kind=RoutingJob.Kind.HANDOVER, decision_date=D(2021, 3, 31))
    routing_job_run(job_id=job.pk)  # nothing moves: statistics left to autovacuum
    assert [_rows_counted_by_statistics(table) for table in tables] == [-1, -1, -1]
    job = RoutingJob.objects.create(kind=RoutingJob.Kind.HANDOVER, decision_date=D(2021, 4, 1))
    routing_job_run(job_id=job.pk)
    assert RoutingJob.objects.get(pk=job.pk).moved == 3
    assert [_rows_counted_by_statistics(table) for table in tables] == [
        3,
        3,  # one organisation (NHSR) each after the handover
        RoutingDecision.objects.count(),
    ]


def test_the_day_before_handover_the_job_moves_nothing():
    claim = claim_against(gp_with("MPS"), incident_date=D(2018, 11, 12))
    route(claim, D(2021, 3, 1))
    job = RoutingJob.objects.create(kind=RoutingJob.Kind.HANDOVER, decision_date=D(2021, 3, 31))
    routing_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.moved == 0
    claim.refresh_from_db()
    assert claim.lead_handler == "MPS"


def test_post_2019_primary_care_claims_are_not_even_candidates_for_rerouting():
    claim = claim_against(gp_with("MPS"), incident_date=D(2019, 4, 1))
    route(claim, D(2024, 5, 1))
    job = RoutingJob.objects.create(kind=RoutingJob.Kind.HANDOVER, decision_date=D(2024, 5, 2))
    routing_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.rows_total == 0


def test_a_new_mdu_agreement_moves_mdu_claims_with_no_code_change(caseworker):
    claim = claim_against(gp_with("MDU"), incident_date=D(2017, 5, 5))
    route(claim, D(2026, 1, 1))
    assert (claim.schemes, claim.lead_handler) == ("NO_STATE_SCHEME", "MDU")
    ElsAgreement.objects.create(
        organisation=mdo("MDU"), agreed_on=D(2026, 2, 1), handover_on=D(2027, 4, 1)
    )
    moves = claims_preview_moves(decision_date=D(2026, 3, 1))
    assert [(m.reference, m.after.schemes, m.after.lead_handler) for m in moves] == [
        (claim.reference, "ELGP", "MDU")
    ]
    claim.refresh_from_db()
    assert claim.schemes == "NO_STATE_SCHEME"  # a preview writes nothing
    job = routing_job_start(
        kind=RoutingJob.Kind.AGREEMENT, actor=caseworker, decision_date=D(2026, 3, 1)
    )
    routing_job_run(job_id=job.pk)
    claim.refresh_from_db()
    assert (claim.schemes, claim.lead_handler) == ("ELGP", "MDU")


def _claims_with_gps(count: int) -> list[int]:
    ids = []
    for _ in range(count):
        ids.append(claim_against(gp_with("MPS"), incident_date=D(2018, 11, 12)).pk)
    return ids


def test_routing_a_batch_takes_the_same_number_of_queries_for_10_and_60_claims():
    small, large = _claims_with_gps(10), _claims_with_gps(60)
    counts = []
    for ids in (small, large):
        with CaptureQueriesContext(connection) as queries:
            claims_route(claim_ids=ids, actor=None, cause="test", decision_date=D(2020, 6, 1))
        counts.append(len(queries))
    assert counts[0] == counts[1]


def _handover_job_over(count: int, start: datetime.date) -> RoutingJob:
    gp = gp_with("MPS")
    ids = [
        claim_against(gp, incident_date=start + datetime.timedelta(days=n)).pk for n in range(count)
    ]
    claims_route(claim_ids=ids, actor=None, cause="test", decision_date=D(2021, 3, 31))
    return RoutingJob.objects.create(kind=RoutingJob.Kind.HANDOVER, decision_date=D(2021, 4, 1))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_job_on_two_threads_moves_each_claim_once_and_counts_every_batch(monkeypatch, settings):
    from claims import routing_services

    monkeypatch.setattr(routing_services, "BATCH_SIZE", 2)
    # The job's statistics refresh afterwards depends on the share of claims moved, not on the
    # batches (tested above).
    monkeypatch.setattr("claims.tasks.statistics_refresh_later", lambda *args, **kwargs: None)
    counts = []
    for threads, start in ((2, D(2017, 1, 1)), (1, D(2016, 1, 1))):
        settings.ROUTING_JOB_THREADS = threads
        Claim.objects.update(status="closed", outcome="not_a_claim")  # the last round's
        job = _handover_job_over(7, start)
        with CaptureQueriesContext(connection) as queries:
            routing_job_run(job_id=job.pk)
        counts.append(len(queries))
        job.refresh_from_db()
        assert (job.status, job.rows_done, job.moved) == ("done", 7, 7)
    assert set(Claim.objects.values_list("lead_handler", flat=True)) == {"NHSR"}
    assert AuditEvent.objects.filter(action="claim.route", before__isnull=False).count() == 14
    # Every batch's statements are counted, whichever thread ran it.
    assert counts[0] == counts[1]


def test_a_job_takes_a_constant_number_of_queries_a_batch(monkeypatch):
    from claims import routing_services

    monkeypatch.setattr(routing_services, "BATCH_SIZE", 2)
    # The job's statistics refresh afterwards depends on the share of claims moved, not on the
    # batches (tested above).
    monkeypatch.setattr("claims.tasks.statistics_refresh_later", lambda *args, **kwargs: None)
    counts = []
    for batches, start in ((1, D(2017, 1, 1)), (2, D(2016, 1, 1)), (3, D(2015, 1, 1))):
        RoutingJob.objects.all().delete()
        Claim.objects.update(status="closed", outcome="not_a_claim")
        job = _handover_job_over(2 * batches, start)
        with CaptureQueriesContext(connection) as queries:
            routing_job_run(job_id=job.pk)
        job.refresh_from_db()
        assert job.moved == 2 * batches
        counts.append(len(queries))
    assert counts[2] - counts[1] == counts[1] - counts[0]


def test_the_routing_history_shows_each_decision_with_its_facts_reasons_and_before_and_after(
    caseworker,
):
    from claims.selectors import claim_routing_current, claim_routing_history

    claim = claim_against(gp_with("MPS"), incident_date=D(2018, 11, 12))
    assert claim_routing_current(claim=claim) is None
    claims_route(
        claim_ids=[claim.pk], actor=caseworker, cause="Claim recorded", decision_date=D(2021, 3, 31)
    )
    claims_route(
        claim_ids=[claim.pk],
        actor=None,
        actor_label="routing job 9",
        cause="Daily re-route",
        decision_date=D(2021, 4, 1),
        record_all=False,
    )
    moved, recorded = claim_routing_history(claim=claim)
    assert (recorded["decided_by"], recorded["cause"], recorded["before"]) == (
        "caseworker",
        "Claim recorded",
        None,
    )
    assert recorded["decision_date"] == D(2021, 3, 31)
    assert recorded["facts"]["clinicians"][0]["mdo_at_incident"] == "MPS"
    assert recorded["after"] == {
        "schemes": ["ELGP"],
        "lead_handler": "MPS",
        "handlers": ["MPS"],
        "flags": [],
    }
    assert (moved["decided_by"], moved["decided_by_label"]) == (None, "routing job 9")
    assert moved["before"] == recorded["after"]
    assert (moved["after"]["schemes"], moved["after"]["lead_handler"]) == (["ELSGP"], "NHSR")
    assert any("handed its claims" in reason for reason in moved["outcome"]["reasons"])
    assert moved["rule_version"] == moved["outcome"]["rule_version"]
    assert claim_routing_history(claim=claim, limit=1) == [moved]
    current = claim_routing_current(claim=claim)
    assert current == {**moved["outcome"], "decided_at": moved["decided_at"]}


def test_claims_decided_on_the_same_facts_share_one_stored_ruling():
    from claims.models import RoutingRuling

    gp = gp_with("MPS")
    ids = [claim_against(gp, incident_date=D(2018, 11, 12)).pk for _ in range(3)]
    claims_route(claim_ids=ids, actor=None, cause="test", decision_date=D(2021, 3, 31))
    assert RoutingDecision.objects.filter(claim_id__in=ids).count() == 3
    assert RoutingRuling.objects.count() == 1


def test_each_move_is_told_to_both_organisations_even_the_same_move_again(
    django_capture_on_commit_callbacks,
):
    from claims.models import Notification
    from tests.conftest import _persona

    mps_lead = _persona("mps_lead", "team_lead", "MPS", staff=False)
    nhsr_lead = _persona("nhsr_lead", "team_lead", "NHSR", staff=True)
    claim = claim_against(gp_with("MPS"), incident_date=D(2018, 11, 12))
    with django_capture_on_commit_callbacks(execute=True):
        route(claim, D(2021, 3, 31))  # MPS handles it in the interim period
        # The handover, corrected back (a decision date entered wrongly), and applied again.
        for day in (D(2021, 4, 1), D(2021, 3, 31), D(2021, 4, 1)):
            route(claim, day)
    told = list(
        Notification.objects.filter(recipient__in=[mps_lead, nhsr_lead])
        .order_by("pk")
        .values_list("recipient__username", "kind")
    )
    assert told == [
        ("mps_lead", "claim_routed"),
        ("nhsr_lead", "claim_moved_in"),
        ("mps_lead", "claim_moved_out"),
        ("mps_lead", "claim_moved_in"),
        ("nhsr_lead", "claim_moved_out"),
        ("nhsr_lead", "claim_moved_in"),
        ("mps_lead", "claim_moved_out"),
    ]


@pytest.mark.parametrize(
    ("today", "moved", "placed"),
    [(D(2021, 3, 31), 0, ("ELGP", "MPS")), (D(2021, 4, 1), 1, ("ELSGP", "NHSR"))],
)
def test_the_daily_handover_task_reroutes_as_of_its_day(
    monkeypatch, django_capture_on_commit_callbacks, today, moved, placed
):
    from claims.tasks import handovers_reroute_task

    claim = claim_against(gp_with("MPS"), incident_date=D(2018, 11, 12))
    route(claim, D(2021, 3, 30))
    monkeypatch.setattr("claims.tasks.timezone.localdate", lambda: today)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = handovers_reroute_task()
    job = RoutingJob.objects.get(pk=job_id)
    assert (job.kind, job.decision_date, job.status, job.moved) == (
        "handover",
        today,
        "done",
        moved,
    )
    claim.refresh_from_db()
    assert (claim.schemes, claim.lead_handler) == placed
