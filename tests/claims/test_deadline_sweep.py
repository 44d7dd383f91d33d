"""The daily sweep: each reminder and each missed-deadline notice exactly once, to people who
may see the claim, whether the sweep runs twice or twice at once (domain.md §5, design.md §4)."""

import datetime
import threading

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from claims.deadline_services import claims_deadlines_recompute, deadlines_sweep
from claims.models import Claim, ClaimHandling, Deadline, Notification
from handlers.models import HandlerOrganisation
from tests.factories import ClaimFactory, HandlerFactory, UserFactory

D = datetime.date


def team_lead(code: str, name: str):
    user = UserFactory(username=name)
    HandlerFactory(
        user=user, role="team_lead", organisation=HandlerOrganisation.objects.get(code=code)
    )
    return user


def mps_claim(assigned=None, **dates) -> Claim:
    # An incident a year ago: its limitation is two years off, so only the dates given fall due.
    dates.setdefault("incident_date", timezone.localdate() - datetime.timedelta(days=365))
    claim = ClaimFactory(lead_handler="MPS", handlers="MPS", assigned_to=assigned, **dates)
    ClaimHandling.objects.create(
        claim=claim, organisation=HandlerOrganisation.objects.get(code="MPS")
    )
    claims_deadlines_recompute(claim_ids=[claim.pk], actor=None, reason="test", today=D(2024, 1, 1))
    return claim


@pytest.mark.django_db
def test_a_reminder_14_days_before_goes_to_the_assigned_handler_once(mps_handler):
    # Letter of claim 2024-01-10: response due 2024-05-10; first reminder on 2024-04-26.
    claim = mps_claim(assigned=mps_handler, letter_of_claim_on=D(2024, 1, 10))
    assert deadlines_sweep(today=D(2024, 4, 25)).reminded == 1  # the 14-day acknowledgement
    Notification.objects.all().delete()
    first = deadlines_sweep(today=D(2024, 4, 26))
    second = deadlines_sweep(today=D(2024, 4, 26))
    assert (first.reminded, second.reminded) == (1, 0)
    [notice] = Notification.objects.all()
    assert (notice.recipient, notice.claim, notice.kind) == (
        mps_handler,
        claim,
        "deadline_reminder",
    )
    assert "letter of response is due on 2024-05-10" in notice.message
    deadline = Deadline.objects.get(claim=claim, kind="letter_of_response")
    assert deadline.remind_on == D(2024, 5, 3)


@pytest.mark.django_db
def test_without_an_assignee_the_organisations_team_lead_is_reminded(caseworker):
    lead = team_lead("MPS", "mps_lead")
    mps_claim(letter_of_claim_on=D(2024, 1, 10))
    deadlines_sweep(today=D(2024, 1, 20))
    assert set(Notification.objects.values_list("recipient_id", flat=True)) == {lead.pk}


@pytest.mark.django_db
def test_a_missed_deadline_tells_the_handler_and_escalates_to_the_team_lead(mps_handler):
    lead = team_lead("MPS", "mps_lead")
    claim = mps_claim(assigned=mps_handler, letter_of_claim_on=D(2024, 1, 10))
    result = deadlines_sweep(today=D(2024, 1, 25))  # acknowledgement was due 2024-01-24
    assert result.missed == 1
    assert Deadline.objects.get(claim=claim, kind="acknowledge_letter_of_claim").status == "missed"
    kinds = set(Notification.objects.values_list("recipient_id", "kind"))
    assert (mps_handler.pk, "deadline_missed") in kinds
    assert (lead.pk, "deadline_escalated") in kinds
    again = deadlines_sweep(today=D(2024, 1, 25))
    assert (again.missed, again.notifications) == (0, 0)


@pytest.mark.django_db
def test_the_day_a_deadline_falls_due_it_is_not_yet_missed(mps_handler):
    claim = mps_claim(assigned=mps_handler, letter_of_claim_on=D(2024, 1, 10))
    deadlines_sweep(today=D(2024, 1, 24))
    assert Deadline.objects.get(claim=claim, kind="acknowledge_letter_of_claim").status == "open"


@pytest.mark.django_db
def test_nobody_is_told_about_a_claim_they_may_not_see(mdu_handler):
    # Assigned to an MDU handler, but handled by MPS only (it moved): the MDU handler hears nothing.
    mps_claim(assigned=mdu_handler, letter_of_claim_on=D(2024, 1, 10))
    deadlines_sweep(today=D(2024, 1, 25))
    assert not Notification.objects.filter(recipient=mdu_handler).exists()


@pytest.mark.django_db
def test_reminders_are_emailed_and_the_outcome_recorded(
    mps_handler, django_capture_on_commit_callbacks
):
    mps_claim(assigned=mps_handler, letter_of_claim_on=D(2024, 1, 10))
    with django_capture_on_commit_callbacks(execute=True):
        deadlines_sweep(today=D(2024, 1, 20))
    assert [m.to for m in mail.outbox] == [[mps_handler.email]]
    assert Notification.objects.get().email_status == "sent"


@pytest.mark.django_db
def test_the_sweep_runs_by_hand_as_a_management_command(mps_handler):
    from io import StringIO

    mps_claim(assigned=mps_handler, letter_of_claim_on=D(2024, 1, 10))
    out = StringIO()
    call_command("sweep_deadlines", today="2024-01-25", stdout=out)
    assert "marked 1 missed" in out.getvalue()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_send_each_reminder_once():
    handler = UserFactory(username="busy_handler")
    HandlerFactory(user=handler, role="handler")
    for _ in range(40):
        mps_claim(assigned=handler, letter_of_claim_on=D(2024, 1, 10))
    barrier = threading.Barrier(2)
    results = []

    def sweep():
        try:
            barrier.wait()
            results.append(deadlines_sweep(today=D(2024, 1, 20), batch_size=7))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.reminded for r in results) == 40
    assert Notification.objects.count() == 40
    assert Notification.objects.values("dedupe_key").distinct().count() == 40


# -- closed claims, and deadlines already past when they are made ----------


@pytest.mark.django_db
def test_a_closed_claim_reminds_nobody_and_its_deadlines_stay_as_they_were(mps_handler, caseworker):
    from claims.services import claim_close

    lead = team_lead("MPS", "mps_lead")
    today = timezone.localdate()
    claim = mps_claim(assigned=mps_handler, letter_of_claim_on=today)
    claim_close(claim=claim, actor=caseworker, outcome="not_a_claim", expected_version=None)
    assert not Deadline.objects.filter(claim=claim, remind_on__isnull=False).exists()
    # Reminder days, the acknowledgement's day and the day after, the response's day after.
    for days in (0, 7, 13, 14, 15, 200):
        day = today + datetime.timedelta(days=days)
        result = deadlines_sweep(today=day)
        assert (result.reminded, result.missed) == (0, 0), day
    assert not Notification.objects.filter(recipient__in=[mps_handler, lead]).exists()
    assert set(Deadline.objects.filter(claim=claim).values_list("kind", "status")) >= {
        ("acknowledge_letter_of_claim", "open"),
        ("letter_of_response", "open"),
    }


@pytest.mark.django_db
def test_a_reopened_claim_marks_what_passed_while_it_was_closed_and_reminds_again(
    mps_handler, caseworker
):
    from claims.services import claim_close, claim_reopen

    lead = team_lead("MPS", "mps_lead")
    claim = mps_claim(assigned=mps_handler, letter_of_claim_on=timezone.localdate())
    claim = claim_close(claim=claim, actor=caseworker, outcome="not_a_claim", expected_version=None)
    Claim.objects.filter(pk=claim.pk).update(letter_of_claim_on=D(2024, 1, 10))
    claim_reopen(claim=claim, actor=caseworker, expected_version=None, reason="Solicitors wrote")
    deadlines = dict(Deadline.objects.filter(claim=claim).values_list("kind", "status"))
    assert deadlines["acknowledge_letter_of_claim"] == "missed"
    told = set(Notification.objects.values_list("recipient_id", "kind"))
    assert told >= {(mps_handler.pk, "deadline_missed"), (lead.pk, "deadline_escalated")}
    claim = mps_claim(assigned=mps_handler, letter_of_claim_on=timezone.localdate())
    claim = claim_close(claim=claim, actor=caseworker, outcome="not_a_claim", expected_version=None)
    claim_reopen(claim=claim, actor=caseworker, expected_version=None, reason="Reopened")
    reminded = Deadline.objects.get(claim=claim, kind="acknowledge_letter_of_claim").remind_on
    assert reminded is not None and reminded >= timezone.localdate()


@pytest.mark.django_db
def test_a_deadline_already_past_when_its_date_is_entered_is_told_at_once_and_once(
    mps_handler, django_capture_on_commit_callbacks
):
    from claims.services import claim_update

    lead = team_lead("MPS", "mps_lead")
    claim = mps_claim(assigned=mps_handler)
    # Entered today (2026 or later): acknowledgement due 14 days after 2024-03-01, long past.
    with django_capture_on_commit_callbacks(execute=True):
        claim_update(
            claim=claim,
            actor=mps_handler,
            expected_version=claim.version,
            letter_of_claim_on=D(2024, 3, 1),
        )
    assert Deadline.objects.get(claim=claim, kind="acknowledge_letter_of_claim").status == "missed"
    told = set(Notification.objects.values_list("recipient_id", "kind"))
    assert {(mps_handler.pk, "deadline_missed"), (lead.pk, "deadline_escalated")} <= told
    assert any("MISSED" in (m.subject + m.body) for m in mail.outbox)
    assert deadlines_sweep().notifications == 0


@pytest.mark.django_db
def test_a_date_entered_in_time_is_not_told_as_missed(mps_handler):
    from claims.services import claim_update

    team_lead("MPS", "mps_lead")
    claim = mps_claim(assigned=mps_handler)
    claim_update(
        claim=claim,
        actor=mps_handler,
        expected_version=claim.version,
        letter_of_claim_on=timezone.localdate(),
    )
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_deadlines_of_claims_closed_before_the_rule_are_cleared_of_reminders():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("claims.migrations.0016_closed_claims_remind_nobody")
    open_claim = mps_claim(letter_of_claim_on=timezone.localdate())
    closed = mps_claim(letter_of_claim_on=timezone.localdate())
    Claim.objects.filter(pk=closed.pk).update(status="closed", outcome="not_a_claim")
    migration.closed_claims_remind_nobody(apps, None)
    assert not Deadline.objects.filter(claim=closed, remind_on__isnull=False).exists()
    assert Deadline.objects.filter(claim=open_claim, remind_on__isnull=False).exists()


@pytest.mark.django_db
def test_a_reopened_claim_tells_what_its_edits_marked_missed_while_it_was_closed(
    mps_handler, caseworker
):
    from claims.services import claim_close, claim_reopen, claim_update

    lead = team_lead("MPS", "mps_lead")
    claim = mps_claim(assigned=mps_handler, letter_of_claim_on=timezone.localdate())
    claim = claim_close(claim=claim, actor=caseworker, outcome="not_a_claim", expected_version=None)
    # A caseworker corrects the closed claim: its acknowledgement and response were due long ago.
    claim = claim_update(
        claim=claim, actor=caseworker, expected_version=None, letter_of_claim_on=D(2024, 1, 10)
    )
    assert Deadline.objects.get(claim=claim, kind="letter_of_response").status == "missed"
    assert not Notification.objects.exists()  # closed: nobody is told
    claim_reopen(claim=claim, actor=caseworker, expected_version=None, reason="Solicitors wrote")
    told = set(Notification.objects.values_list("recipient_id", "kind", "message"))
    for kind in ("acknowledge letter of claim", "letter of response"):
        assert any(r == lead.pk and k == "deadline_escalated" and kind in m for r, k, m in told)
        assert any(r == mps_handler.pk and k == "deadline_missed" and kind in m for r, k, m in told)
