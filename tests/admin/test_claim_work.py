"""The claim page's own forms: a deadline met or waived, a reserve set, a payment recorded, a
note added. Each says what will change, goes through its service, and is refused to auditors
and on claims or deadlines where it no longer applies."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.selectors import audit_events_for
from claims.models import Claim, Deadline, Payment, Reserve
from tests.admin.conftest import change_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, caseworker):
    client.force_login(caseworker)
    return client


def _deadline_url(claim, what: str, kind: str = "acknowledge_letter_of_claim") -> str:
    deadline = claim.deadlines.get(kind=kind)
    return reverse("admin:claims_claim_deadline", args=[claim.pk, deadline.pk, what])


def test_waive_says_what_will_change_then_waives_with_the_reason(signed_in, caseworker, mps_claim):
    url = _deadline_url(mps_claim, "waive")
    page = signed_in.get(url).content.decode()
    assert "Acknowledge the letter of claim" in page and "will become waived" in page
    response = signed_in.post(
        url, {"reason": "Claimant's solicitor agreed no acknowledgement", "version": 1}
    )
    assert response.status_code == 302 and response.url.endswith("#deadlines")
    deadline = mps_claim.deadlines.get(kind="acknowledge_letter_of_claim")
    assert (deadline.status, deadline.waived_by) == ("waived", caseworker)
    assert deadline.history.order_by("-id").first().reason.startswith("Waived: Claimant")
    assert audit_events_for(subject=deadline).get(action="deadline.waive").actor == caseworker
    page = signed_in.get(change_url(mps_claim)).content.decode()
    assert "Claimant&#x27;s solicitor agreed no acknowledgement" in page


def test_waive_without_a_reason_is_refused(signed_in, mps_claim):
    response = signed_in.post(_deadline_url(mps_claim, "waive"), {"reason": "", "version": 1})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert mps_claim.deadlines.get(kind="acknowledge_letter_of_claim").status == "open"


def test_recording_a_deadline_done_sets_the_date_that_meets_it(signed_in, mps_claim):
    url = _deadline_url(mps_claim, "met")
    page = signed_in.get(url).content.decode()
    assert "Letter of claim acknowledged" in page
    done = timezone.localdate() - datetime.timedelta(days=1)
    response = signed_in.post(url, {"on": done.isoformat(), "note": "By e-mail", "version": 1})
    assert response.status_code == 302
    claim = Claim.objects.get(pk=mps_claim.pk)
    assert claim.letter_of_claim_acknowledged_on == done
    deadline = claim.deadlines.get(kind="acknowledge_letter_of_claim")
    assert (deadline.status, deadline.met_on) == ("met", done)


def test_a_done_date_in_the_future_is_refused(signed_in, mps_claim):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = signed_in.post(
        _deadline_url(mps_claim, "met"), {"on": tomorrow.isoformat(), "version": 1}
    )
    assert response.status_code == 400
    assert "today or in the past" in response.content.decode()


def test_a_stale_page_records_nothing(signed_in, mps_claim):
    Claim.objects.filter(pk=mps_claim.pk).update(version=5)
    response = signed_in.post(
        _deadline_url(mps_claim, "met"), {"on": timezone.localdate().isoformat(), "version": 1}
    )
    assert response.status_code == 400
    assert "Someone changed this claim after you opened this page" in response.content.decode()
    assert Claim.objects.get(pk=mps_claim.pk).letter_of_claim_acknowledged_on is None


def test_a_met_deadline_or_a_closed_claim_offers_no_deadline_action(signed_in, mps_claim):
    url = _deadline_url(mps_claim, "waive")
    Deadline.objects.filter(claim=mps_claim, kind="acknowledge_letter_of_claim").update(
        status="met"
    )
    response = signed_in.post(url, {"reason": "late", "version": 1})
    assert response.status_code == 302
    assert "cannot be changed now: it is already met" in str(
        next(iter(response.wsgi_request._messages))
    )
    Claim.objects.filter(pk=mps_claim.pk).update(status="closed", outcome="not_a_claim")
    page = signed_in.get(change_url(mps_claim)).content.decode()
    assert "Record as done" not in page and "Waive" not in page


def test_set_a_reserve_in_pounds_and_pence(signed_in, caseworker, mps_claim):
    url = reverse("admin:claims_claim_reserve", args=[mps_claim.pk])
    assert "becomes the head" in signed_in.get(url).content.decode()
    response = signed_in.post(
        url, {"head": "damages", "amount": "25000.50", "reason": "Expert report", "version": 1}
    )
    assert response.status_code == 302 and response.url.endswith("#money")
    reserve = Reserve.objects.get(claim=mps_claim)
    assert (reserve.amount, reserve.set_by) == (Decimal("25000.50"), caseworker)
    event = audit_events_for(subject=mps_claim).get(action="claim.reserve")
    assert event.after == {"head": "damages", "amount": "25000.50"}


def test_a_reserve_with_fractions_of_a_penny_is_refused(signed_in, mps_claim):
    response = signed_in.post(
        reverse("admin:claims_claim_reserve", args=[mps_claim.pk]),
        {"head": "damages", "amount": "10.005", "version": 1},
    )
    assert response.status_code == 400
    assert not Reserve.objects.exists()


def test_record_a_payment(signed_in, caseworker, mps_claim):
    url = reverse("admin:claims_claim_payment", args=[mps_claim.pk])
    response = signed_in.post(
        url,
        {
            "head": "claimant_costs",
            "amount": "1999.99",
            "paid_on": "2025-03-01",
            "payee_type": "claimant_solicitor",
            "payee_name": "Smith & Co",
            "reference": "INV-9",
            "version": 1,
        },
    )
    assert response.status_code == 302
    payment = Payment.objects.get(claim=mps_claim)
    assert (payment.amount, payment.paid_on, payment.recorded_by) == (
        Decimal("1999.99"),
        datetime.date(2025, 3, 1),
        caseworker,
    )
    assert "£1,999.99" in signed_in.get(change_url(mps_claim)).content.decode()


def test_a_payment_in_the_future_is_refused(signed_in, mps_claim):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = signed_in.post(
        reverse("admin:claims_claim_payment", args=[mps_claim.pk]),
        {"head": "damages", "amount": "5", "paid_on": tomorrow.isoformat(),
         "payee_type": "claimant", "version": 1},
    )  # fmt: skip
    assert response.status_code == 400
    assert not Payment.objects.exists()


def test_money_and_notes_still_go_on_a_closed_claim(signed_in, mps_claim):
    Claim.objects.filter(pk=mps_claim.pk).update(status="closed", outcome="closed_with_damages")
    response = signed_in.post(
        reverse("admin:claims_claim_payment", args=[mps_claim.pk]),
        {"head": "defence_costs", "amount": "300", "paid_on": "2025-01-01",
         "payee_type": "counsel", "version": 1},
    )  # fmt: skip
    assert response.status_code == 302
    assert Payment.objects.filter(claim=mps_claim).exists()


def test_add_a_note_from_the_claim_page(signed_in, caseworker, mps_claim):
    response = signed_in.post(
        reverse("admin:claims_claim_note", args=[mps_claim.pk]), {"text": "Called the practice."}
    )
    assert response.status_code == 302 and response.url.endswith("#notes")
    note = mps_claim.notes.get()
    assert (note.text, note.author) == ("Called the practice.", caseworker)


def test_an_empty_note_is_refused(signed_in, mps_claim):
    response = signed_in.post(
        reverse("admin:claims_claim_note", args=[mps_claim.pk]), {"text": " "}
    )
    assert response.status_code == 400
    assert not mps_claim.notes.exists()


def test_a_deadline_of_another_claim_is_not_found(signed_in, mps_claim, mdu_claim):
    other = mdu_claim.deadlines.get(kind="acknowledge_letter_of_claim")
    url = reverse("admin:claims_claim_deadline", args=[mps_claim.pk, other.pk, "waive"])
    assert signed_in.get(url).status_code == 404
