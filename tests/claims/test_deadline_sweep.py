"""The daily sweep: each reminder and each missed-deadline notice exactly once, to people who
may see the claim, whether the sweep runs twice or twice at once (domain.md §5, design.md §4)."""

import datetime
import threading

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection

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
