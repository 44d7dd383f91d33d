"""The claim page's actions: each form's checks, the write through its service, and the
optimistic lock (a stale version is refused and nothing is overwritten)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from claims.models import Claim, Notification, Payment, Reserve
from claims.services import claim_update

pytestmark = pytest.mark.django_db


def url(claim, action):
    return f"/portal/claims/{claim.reference}/{action}/"


def date_parts(name, day):
    return {f"{name}_day": day.day, f"{name}_month": day.month, f"{name}_year": day.year}


def test_move_the_stage_on(client, mps_handler, mps_claim):
    client.force_login(mps_handler)
    response = client.post(url(mps_claim, "stage"), {"version": 1, "stage": "investigation"})
    assert response.status_code == 302
    mps_claim.refresh_from_db()
    assert (mps_claim.stage, mps_claim.version) == ("investigation", 2)
    event = AuditEvent.objects.get(action="claim.update")
    assert event.actor == mps_handler and event.after["stage"] == "investigation"
    page = client.get(response.url).content.decode()
    assert "Stage changed to Investigation." in page


def test_stage_must_change_and_be_a_stage(client, mps_handler, mps_claim):
    client.force_login(mps_handler)
    same = client.post(url(mps_claim, "stage"), {"version": 1, "stage": "letter_of_claim"})
    assert same.status_code == 400
    assert "Choose a stage different from the current one" in same.content.decode()
    bogus = client.post(url(mps_claim, "stage"), {"version": 1, "stage": "won"})
    assert bogus.status_code == 400
    assert '<a href="#id_stage">' in bogus.content.decode()
    mps_claim.refresh_from_db()
    assert mps_claim.version == 1


def test_a_stale_stage_change_is_refused_and_overwrites_nothing(
    client, mps_handler, mps_colleague, mps_claim
):
    client.force_login(mps_handler)
    client.get(url(mps_claim, "stage"))  # the form now carries version 1
    claim_update(claim=mps_claim, actor=mps_colleague, expected_version=1, stage="negotiation")
    response = client.post(url(mps_claim, "stage"), {"version": 1, "stage": "investigation"})
    assert response.status_code == 409
    body = response.content.decode()
    assert "Someone else changed this claim" in body
    assert "nothing was overwritten" in body
    # The form now shows the claim as it is, at its new version.
    assert 'name="version" value="2"' in body
    assert '<option value="negotiation" selected>' in body
    mps_claim.refresh_from_db()
    assert (mps_claim.stage, mps_claim.version) == ("negotiation", 2)


def test_description(client, mps_handler, mps_claim):
    client.force_login(mps_handler)
    client.post(url(mps_claim, "description"), {"version": 1, "description": "Missed sepsis."})
    mps_claim.refresh_from_db()
    assert mps_claim.description == "Missed sepsis."


def test_record_dates_recomputes_the_deadlines(client, mps_handler, mps_claim):
    today = timezone.localdate()
    client.force_login(mps_handler)
    data = {
        "version": 1,
        **date_parts("letter_of_claim_on", mps_claim.letter_of_claim_on),
        **date_parts("letter_of_claim_acknowledged_on", today),
        **date_parts("records_requested_on", today - datetime.timedelta(days=3)),
    }
    response = client.post(url(mps_claim, "dates"), data)
    assert response.status_code == 302
    mps_claim.refresh_from_db()
    assert mps_claim.letter_of_claim_acknowledged_on == today
    assert mps_claim.deadlines.get(kind="acknowledge_letter_of_claim").status == "met"
    assert mps_claim.deadlines.get(kind="records_disclosure").due_on == today + datetime.timedelta(
        days=37
    )


def test_clearing_a_date_keeps_a_deadline_a_caseworker_waived(
    client, mps_handler, mps_claim, caseworker
):
    from claims.deadline_services import deadline_waive

    waived = mps_claim.deadlines.get(kind="letter_of_response")
    deadline_waive(deadline=waived, actor=caseworker, reason="Agreed with the solicitors")
    letter_of_claim_on = mps_claim.letter_of_claim_on
    client.force_login(mps_handler)
    cleared = client.post(url(mps_claim, "dates"), {"version": 1})
    assert cleared.status_code == 302
    # The acknowledgement no longer applies; the waiver, a caseworker's decision, stays.
    assert sorted(mps_claim.deadlines.values_list("kind", "status")) == [
        ("letter_of_response", "waived"),
        ("limitation", "open"),
    ]
    again = client.post(
        url(mps_claim, "dates"),
        {"version": 2, **date_parts("letter_of_claim_on", letter_of_claim_on)},
    )
    assert again.status_code == 302
    waived.refresh_from_db()
    assert (waived.status, waived.waived_reason) == ("waived", "Agreed with the solicitors")
    assert list(waived.history.values_list("reason", flat=True)) == [
        "Claim recorded",
        "Waived: Agreed with the solicitors",
    ]


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({"_day": "31", "_month": "2", "_year": "2024"}, "must be a real date"),
        ({"_day": "3", "_month": "", "_year": "2024"}, "must include a month"),
        ({"_day": "3", "_month": "4", "_year": "24"}, "must be a real date"),
        ({"_day": "1", "_month": "1", "_year": "2999"}, "must be today or in the past"),
    ],
)
def test_dates_are_checked(client, mps_handler, mps_claim, parts, message):
    client.force_login(mps_handler)
    data = {"version": 1, **date_parts("letter_of_claim_on", mps_claim.letter_of_claim_on)}
    data.update({f"defence_filed_on{k}": v for k, v in parts.items()})
    response = client.post(url(mps_claim, "dates"), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert '<a href="#id_defence_filed_on_day">' in body
    mps_claim.refresh_from_db()
    assert mps_claim.version == 1


def test_meet_a_deadline(client, mps_handler, mps_claim):
    deadline = mps_claim.deadlines.get(kind="acknowledge_letter_of_claim")
    today = timezone.localdate()
    client.force_login(mps_handler)
    response = client.post(
        f"/portal/claims/{mps_claim.reference}/deadlines/{deadline.pk}/met/",
        {"version": 1, **date_parts("met_on", today), "note": "Sent by e-mail"},
    )
    assert response.status_code == 302
    deadline.refresh_from_db()
    assert (deadline.status, deadline.met_on) == ("met", today)
    assert deadline.history.filter(reason__contains="Sent by e-mail").exists()
    page = client.get(response.url).content.decode()
    row = page.split('data-testid="deadline-acknowledge_letter_of_claim"')[1].split("</tr>")[0]
    assert ">Met</strong>" in row
    # Met: no second form is offered.
    again = client.get(f"/portal/claims/{mps_claim.reference}/deadlines/{deadline.pk}/met/")
    assert again.status_code == 409
    assert "already met" in again.content.decode()


def test_a_deadline_done_after_its_day_is_recorded_and_said_to_stay_missed(client, mps_handler):
    from tests.portal.conftest import handled_claim

    today = timezone.localdate()
    # Incident three years and a month ago: the limitation date has passed.
    claim = handled_claim("MPS", incident_date=today - datetime.timedelta(days=3 * 366 + 30))
    limitation = claim.deadlines.get(kind="limitation")
    assert limitation.status == "missed"
    client.force_login(mps_handler)
    response = client.post(
        f"/portal/claims/{claim.reference}/deadlines/{limitation.pk}/met/",
        {"version": claim.version, **date_parts("met_on", today)},
        follow=True,
    )
    limitation.refresh_from_db()
    assert (limitation.status, Claim.objects.get(pk=claim.pk).claim_form_issued_on) == (
        "missed",
        today,
    )
    body = response.content.decode()
    assert (
        f"after its day ({limitation.due_on.day} {limitation.due_on:%B %Y}), so it stays missed"
        in body
    )


def test_a_date_done_before_the_date_that_set_it_running_is_refused(client, mps_handler, mps_claim):
    client.force_login(mps_handler)
    letter = mps_claim.letter_of_claim_on
    response = client.post(
        url(mps_claim, "dates"),
        {
            "version": 1,
            **date_parts("letter_of_claim_on", letter),
            **date_parts("letter_of_response_sent_on", letter - datetime.timedelta(days=300)),
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Letter of response sent on" in body and "is before" in body
    assert '<a href="#id_letter_of_response_sent_on_day">' in body
    mps_claim.refresh_from_db()
    assert (mps_claim.version, mps_claim.letter_of_response_sent_on) == (1, None)


def test_meeting_a_deadline_needs_a_date(client, mps_handler, mps_claim):
    deadline = mps_claim.deadlines.get(kind="acknowledge_letter_of_claim")
    client.force_login(mps_handler)
    response = client.post(
        f"/portal/claims/{mps_claim.reference}/deadlines/{deadline.pk}/met/", {"version": 1}
    )
    assert response.status_code == 400
    assert "Enter the date" in response.content.decode()


def test_meeting_a_deadline_on_a_stale_claim_is_refused(
    client, mps_handler, mps_colleague, mps_claim
):
    deadline = mps_claim.deadlines.get(kind="acknowledge_letter_of_claim")
    claim_update(claim=mps_claim, actor=mps_colleague, expected_version=1, stage="investigation")
    client.force_login(mps_handler)
    response = client.post(
        f"/portal/claims/{mps_claim.reference}/deadlines/{deadline.pk}/met/",
        {"version": 1, **date_parts("met_on", timezone.localdate())},
    )
    assert response.status_code == 409
    deadline.refresh_from_db()
    assert deadline.status == "open"


def test_another_claims_deadline_is_not_found_under_this_claim(client, mps_handler, mps_claim):
    from tests.portal.conftest import handled_claim

    other = handled_claim("MPS")
    deadline = other.deadlines.first()
    client.force_login(mps_handler)
    response = client.get(f"/portal/claims/{mps_claim.reference}/deadlines/{deadline.pk}/met/")
    assert response.status_code == 404


def test_add_a_note(client, mps_handler, mps_claim):
    client.force_login(mps_handler)
    empty = client.post(url(mps_claim, "notes"), {"version": 1, "text": "  "})
    assert empty.status_code == 400
    assert "Write the note before saving it" in empty.content.decode()
    client.post(url(mps_claim, "notes"), {"version": 1, "text": "Expert instructed."})
    assert mps_claim.notes.get().text == "Expert instructed."


def test_a_note_never_conflicts(client, mps_handler, mps_colleague, mps_claim):
    claim_update(claim=mps_claim, actor=mps_colleague, expected_version=1, stage="investigation")
    client.force_login(mps_handler)
    response = client.post(url(mps_claim, "notes"), {"version": 1, "text": "Still added."})
    assert response.status_code == 302
    assert mps_claim.notes.get().text == "Still added."


def test_set_a_reserve(client, mps_handler, mps_claim):
    client.force_login(mps_handler)
    response = client.post(
        url(mps_claim, "reserves"), {"version": 1, "head": "damages", "amount": "£12,500.00"}
    )
    assert response.status_code == 302
    assert Reserve.objects.get(claim=mps_claim).amount == Decimal("12500.00")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("12.345", "at most two decimal places"),
        ("lots", "is not an amount in pounds"),
        ("-5", "at least £0"),
    ],
)
def test_reserve_amounts_are_checked_by_the_service(
    client, mps_handler, mps_claim, amount, message
):
    client.force_login(mps_handler)
    response = client.post(
        url(mps_claim, "reserves"), {"version": 1, "head": "damages", "amount": amount}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert '<a href="#id_amount">' in body
    assert not Reserve.objects.exists()


def test_a_stale_reserve_is_refused(client, mps_handler, mps_colleague, mps_claim):
    claim_update(claim=mps_claim, actor=mps_colleague, expected_version=1, stage="investigation")
    client.force_login(mps_handler)
    response = client.post(
        url(mps_claim, "reserves"), {"version": 1, "head": "damages", "amount": "100"}
    )
    assert response.status_code == 409
    assert not Reserve.objects.exists()


def test_record_a_payment(client, mps_handler, mps_claim):
    client.force_login(mps_handler)
    data = {
        "version": 1,
        "head": "claimant_costs",
        "amount": "3000",
        **date_parts("paid_on", datetime.date(2024, 5, 2)),
        "payee_type": "claimant_solicitor",
        "payee_name": "Smith & Co",
        "reference": "INV-7",
    }
    assert client.post(url(mps_claim, "payments"), data).status_code == 302
    payment = Payment.objects.get(claim=mps_claim)
    assert (payment.amount, payment.payee_name) == (Decimal("3000.00"), "Smith & Co")


def test_a_payment_needs_its_fields(client, mps_handler, mps_claim):
    client.force_login(mps_handler)
    response = client.post(url(mps_claim, "payments"), {"version": 1})
    assert response.status_code == 400
    body = response.content.decode()
    for message in ("Choose a head", "Enter the amount paid", "Enter the date", "Choose who"):
        assert message in body
    assert not Payment.objects.exists()


def test_a_team_lead_assigns_to_a_colleague(client, mps_team_lead, mps_handler, mps_claim):
    client.force_login(mps_team_lead)
    response = client.post(url(mps_claim, "assign"), {"version": 1, "assignee": mps_handler.pk})
    assert response.status_code == 302
    mps_claim.refresh_from_db()
    assert mps_claim.assigned_to == mps_handler
    assert Notification.objects.filter(recipient=mps_handler, kind="claim_assigned").exists()


def test_a_team_lead_cannot_assign_outside_the_organisation(
    client, mps_team_lead, mdu_handler, mps_claim
):
    client.force_login(mps_team_lead)
    page = client.get(url(mps_claim, "assign")).content.decode()
    assert "mdu_handler" not in page
    response = client.post(url(mps_claim, "assign"), {"version": 1, "assignee": mdu_handler.pk})
    assert response.status_code == 400
    assert "Choose a handler from your organisation" in response.content.decode()
    mps_claim.refresh_from_db()
    assert mps_claim.assigned_to is None


def test_a_handler_cannot_assign(client, mps_handler, mps_colleague, mps_claim):
    client.force_login(mps_handler)
    response = client.post(url(mps_claim, "assign"), {"version": 1, "assignee": mps_colleague.pk})
    assert response.status_code == 403
    mps_claim.refresh_from_db()
    assert mps_claim.assigned_to is None


def test_a_closed_claims_stage_and_dates_stay_as_they_were(client, mps_handler):
    from tests.portal.conftest import handled_claim

    closed = handled_claim("MPS", status="closed", outcome="closed_with_damages")
    client.force_login(mps_handler)
    response = client.post(url(closed, "stage"), {"version": 1, "stage": "settled"})
    assert response.status_code == 409
    assert "This claim is closed" in response.content.decode()
    assert Claim.objects.get(pk=closed.pk).stage == "letter_of_claim"
    # Money and notes still go on a closed claim (costs are paid after settlement).
    assert (
        client.post(url(closed, "notes"), {"version": 1, "text": "Costs agreed."}).status_code
        == 302
    )
