"""Internal service levels (domain.md §5, assumption): configurable data, not code. A level is a
deadline of its own kind, moved off a weekend or bank holiday to the next working day, kept by
caseworkers in the admin and applied to the open claims' deadlines when it changes."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from claims.deadline_services import claims_deadlines_recompute, deadline_meet
from claims.models import Claim, Deadline, ServiceLevel
from tests.claims.test_imports_api import claim_record, post_json
from tests.factories import ClaimFactory

pytestmark = pytest.mark.django_db
D = datetime.date


def acknowledge_new_claim(**fields) -> ServiceLevel:
    values = {
        "kind": "acknowledge_new_claim",
        "name": "Acknowledge a new claim",
        "trigger": "notified_on",
        "period": 2,
        "unit": "working_days",
        **fields,
    }
    return ServiceLevel.objects.create(**values)


def internal(claim: Claim, kind: str = "acknowledge_new_claim") -> Deadline | None:
    return Deadline.objects.filter(claim=claim, kind=kind).first()


TODAY = D(2024, 3, 22)


def recomputed(claim: Claim) -> Claim:
    claims_deadlines_recompute(claim_ids=[claim.pk], actor=None, reason="test", today=TODAY)
    return claim


def test_a_level_is_a_deadline_of_its_own_kind_counted_in_working_days():
    acknowledge_new_claim()
    # Notified on Friday 22 March 2024: two working days are Monday and Tuesday.
    claim = recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))
    deadline = internal(claim)
    assert (deadline.due_on, deadline.category, deadline.status) == (
        D(2024, 3, 26),
        "internal",
        "open",
    )
    assert deadline.source == "Internal service level: Acknowledge a new claim"


@pytest.mark.parametrize(
    ("notified", "due"),
    [
        # Seven days after Monday 25 March 2024 is Easter Monday, a bank holiday: moved to
        # Tuesday 2 April.
        (D(2024, 3, 25), D(2024, 4, 2)),
        # Seven days after Saturday 16 March is Saturday 23 March: moved to Monday 25 March.
        (D(2024, 3, 16), D(2024, 3, 25)),
        # Seven days after Wednesday 20 March is Wednesday 27 March, a working day: kept.
        (D(2024, 3, 20), D(2024, 3, 27)),
    ],
)
def test_only_an_internal_level_moves_off_a_non_working_day(notified, due):
    acknowledge_new_claim(period=7, unit="days")
    claim = recomputed(ClaimFactory(notified_on=notified))
    assert internal(claim).due_on == due


def test_an_inactive_level_makes_no_deadline_and_another_kind_is_refused():
    acknowledge_new_claim(active=False)
    assert internal(recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))) is None
    level = ServiceLevel(
        kind="letter_of_response",
        name="Faster response",
        trigger="letter_of_claim_on",
        period=2,
        unit="months",
    )
    with pytest.raises(ValidationError) as refused:
        level.full_clean()
    assert "kind" in refused.value.message_dict


def test_a_level_is_met_on_the_deadline_itself_and_no_claim_date_changes(caseworker):
    from audit.models import AuditEvent

    acknowledge_new_claim()
    claim = recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))
    version = claim.version
    deadline_meet(
        deadline=internal(claim),
        actor=caseworker,
        on=D(2024, 3, 25),
        note="Phoned",
        expected_version=version,
    )
    claim.refresh_from_db()
    # Every completion date of a claim meets a protocol deadline: none is touched.
    assert claim.letter_of_claim_acknowledged_on is None
    assert claim.version == version + 1
    deadline = internal(claim)
    assert (deadline.status, deadline.met_on) == ("met", D(2024, 3, 25))
    assert list(deadline.history.values_list("reason", flat=True))[-1] == "Phoned"
    assert AuditEvent.objects.filter(action="deadline.meet", actor=caseworker).exists()
    # Recorded by a person, it stays met whatever the claim's dates do next.
    claims_deadlines_recompute(claim_ids=[claim.pk], actor=None, reason="test", today=D(2024, 9, 1))
    assert internal(claim).status == "met"


def test_a_stale_version_meets_nothing(caseworker):
    from claims.services import StaleVersion

    acknowledge_new_claim()
    claim = recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))
    with pytest.raises(StaleVersion):
        deadline_meet(
            deadline=internal(claim), actor=caseworker, expected_version=claim.version - 1
        )
    assert internal(claim).status == "open"


def test_switching_a_level_off_keeps_the_deadlines_people_recorded_as_met(caseworker):
    from claims.deadline_services import open_claims_deadlines_recompute

    level = acknowledge_new_claim()
    done = recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))
    pending = recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))
    deadline_meet(deadline=internal(done), actor=caseworker, on=D(2024, 3, 25))
    ServiceLevel.objects.filter(pk=level.pk).update(active=False)
    open_claims_deadlines_recompute(actor=caseworker, reason="Service level switched off")
    assert internal(pending) is None
    kept = internal(done)
    assert (kept.status, kept.met_on, kept.history.count()) == ("met", D(2024, 3, 25), 2)


def test_changing_the_notification_date_moves_the_level():
    from claims.services import claim_update

    acknowledge_new_claim()
    claim = recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))
    claim_update(claim=claim, actor=None, expected_version=None, notified_on=D(2024, 3, 25))
    assert internal(claim).due_on == D(2024, 3, 27)


def test_a_caseworker_adds_a_level_in_the_admin_and_open_claims_get_it(
    client, caseworker, django_capture_on_commit_callbacks
):
    open_claim = recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))
    closed = recomputed(
        ClaimFactory(notified_on=D(2024, 3, 22), status="closed", outcome="not_a_claim")
    )
    client.force_login(caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/claims/servicelevel/add/",
            {
                "kind": "acknowledge_new_claim",
                "name": "Acknowledge a new claim",
                "trigger": "notified_on",
                "period": "2",
                "unit": "working_days",
                "active": "on",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert internal(open_claim).due_on == D(2024, 3, 26)
    assert internal(closed) is None  # a closed claim keeps the deadlines it had
    level = ServiceLevel.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/claims/servicelevel/{level.pk}/delete/", {"post": "yes"})
    assert internal(open_claim) is None


def test_a_levels_kind_is_fixed_once_it_exists(client, caseworker):
    level = acknowledge_new_claim()
    client.force_login(caseworker)
    page = client.get(f"/admin/claims/servicelevel/{level.pk}/change/").content.decode()
    assert 'name="kind"' not in page and "acknowledge_new_claim" in page


def test_an_auditor_sees_the_levels_and_changes_none(client, auditor, mps_handler):
    level = acknowledge_new_claim()
    client.force_login(auditor)
    assert client.get("/admin/claims/servicelevel/").status_code == 200
    refused = client.post(f"/admin/claims/servicelevel/{level.pk}/change/", {"period": "9"})
    assert refused.status_code == 403
    client.force_login(mps_handler)
    assert client.get("/admin/claims/servicelevel/").status_code in (302, 403)
    level.refresh_from_db()
    assert level.period == 2


def test_imported_claims_get_the_levels_in_force(api, practice_and_gp):
    acknowledge_new_claim()
    record = claim_record("EXT-1", notified_on="2024-03-22")
    response = post_json(api, "claims", [record])
    assert response.status_code == 201, response.json()
    assert internal(Claim.objects.get(external_ref="EXT-1")).due_on == D(2024, 3, 26)


def test_a_deadline_whose_level_was_switched_off_cannot_be_met_and_says_why(client, caseworker):
    from tests.conftest import client_for

    level = acknowledge_new_claim()
    claim = recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))
    deadline = internal(claim)
    ServiceLevel.objects.filter(pk=level.pk).update(active=False)  # not yet applied to claims
    response = client_for(caseworker).patch(
        f"/api/v1/claims/{claim.reference}/deadlines/{deadline.pk}/",
        {"status": "met"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "deadline_not_open"
    client.force_login(caseworker)
    page = client.get(
        f"/admin/claims/claim/{claim.pk}/deadlines/{deadline.pk}/met/", follow=True
    ).content.decode()
    assert "cannot be met: its service level no longer applies" in page
    assert internal(claim).status == "open"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_of_the_job_and_an_edit_at_once_write_each_deadline_once(caseworker):
    import threading

    from django.db import connection

    from claims.deadline_services import open_claims_deadlines_recompute
    from claims.services import claim_update

    claims = [ClaimFactory(notified_on=D(2024, 3, 22)) for _ in range(30)]
    acknowledge_new_claim()
    start, failures = threading.Barrier(3), []

    def job():
        try:
            start.wait()
            open_claims_deadlines_recompute(actor=None, reason="Service level added", batch_size=7)
        except Exception as error:
            failures.append(error)
        finally:
            connection.close()

    def edit():
        try:
            start.wait()
            claim_update(
                claim=claims[17],
                actor=caseworker,
                expected_version=None,
                notified_on=D(2024, 3, 25),
            )
        except Exception as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=t) for t in (job, job, edit)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert Deadline.objects.filter(kind="acknowledge_new_claim").count() == 30
    assert internal(claims[17]).due_on == D(2024, 3, 27)


def test_an_import_running_when_a_level_changes_is_brought_in_line_once_it_commits(
    api, practice_and_gp, monkeypatch, django_capture_on_commit_callbacks
):
    from claims import import_services

    read = import_services.deadline_rules

    def read_then_a_level_is_added():
        rules = read()  # the batch reads the levels, then a caseworker adds one
        acknowledge_new_claim()
        return rules

    monkeypatch.setattr(import_services, "deadline_rules", read_then_a_level_is_added)
    record = claim_record("EXT-1", notified_on="2024-03-22")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(api, "claims", [record])
    assert response.status_code == 201, response.json()
    assert internal(Claim.objects.get(external_ref="EXT-1")).due_on == D(2024, 3, 26)


def test_a_caseworker_records_a_level_done_in_the_admin(client, caseworker):
    acknowledge_new_claim()
    claim = recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))
    deadline = internal(claim)
    client.force_login(caseworker)
    url = f"/admin/claims/claim/{claim.pk}/deadlines/{deadline.pk}/met/"
    assert "recorded on the deadline itself" in client.get(url).content.decode()
    response = client.post(
        url, {"version": claim.version, "on": "2024-03-25", "note": "Acknowledged by phone"}
    )
    assert response.status_code == 302
    assert (internal(claim).status, internal(claim).met_on) == ("met", D(2024, 3, 25))


def test_an_mdo_handler_meets_a_level_through_the_api(mps_handler):
    from tests.conftest import client_for
    from tests.portal.conftest import handled_claim

    acknowledge_new_claim()
    claim = handled_claim("MPS", notified_on=D(2024, 3, 22))
    deadline = internal(claim)
    response = client_for(mps_handler).patch(
        f"/api/v1/claims/{claim.reference}/deadlines/{deadline.pk}/",
        {"status": "met"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    deadline.refresh_from_db()
    assert deadline.status == "met"
    assert Claim.objects.get(pk=claim.pk).letter_of_claim_acknowledged_on is None
