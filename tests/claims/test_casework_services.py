"""Reserves, payments, notes, closing and reopening: the writes a handler or caseworker makes on
a claim, each checked under the row lock for who may make it and for a stale version."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.selectors import audit_events_for
from claims.models import ClaimHandling, ClaimNote, Payment, Reserve
from claims.selectors import claim_money
from claims.services import (
    StaleVersion,
    claim_assign,
    claim_close,
    claim_reopen,
    claim_update,
    note_add,
    payment_record,
    reserve_set,
)
from handlers.models import HandlerOrganisation
from tests.factories import ClaimFactory, HandlerFactory, UserFactory

pytestmark = pytest.mark.django_db


def handled_by(code: str, **fields):
    claim = ClaimFactory(**fields)
    ClaimHandling.objects.create(
        claim=claim, organisation=HandlerOrganisation.objects.get(code=code)
    )
    return claim


def test_a_reserve_revision_keeps_the_old_figure_and_the_latest_counts(mps_handler):
    claim = handled_by("MPS")
    reserve_set(claim=claim, actor=mps_handler, head="damages", amount="25000.00")
    reserve_set(claim=claim, actor=mps_handler, head="damages", amount="40000.50", reason="Expert")
    money = claim_money(claim=claim)
    damages = next(line for line in money.lines if line.head == "damages")
    assert damages.reserve == Decimal("40000.50")
    assert Reserve.objects.filter(claim=claim).count() == 2
    event = audit_events_for(subject=claim).filter(action="claim.reserve").first()
    assert (event.before["amount"], event.after["amount"]) == ("25000.00", "40000.50")


def test_payments_add_up_per_head_and_reduce_what_is_outstanding(caseworker):
    claim = ClaimFactory()
    reserve_set(claim=claim, actor=caseworker, head="damages", amount="10000")
    reserve_set(claim=claim, actor=caseworker, head="defence_costs", amount="3000")
    for amount in ("2500.10", "1000.00"):
        payment_record(
            claim=claim,
            actor=caseworker,
            head="damages",
            amount=amount,
            paid_on=datetime.date(2025, 3, 1),
            payee_type="claimant_solicitor",
        )
    money = claim_money(claim=claim)
    assert money.paid == Decimal("3500.10")
    assert money.reserve == Decimal("13000.00")
    assert money.outstanding == Decimal("6499.90") + Decimal("3000.00")


@pytest.mark.parametrize(
    ("amount", "field"),
    [(0.1, "amount"), ("12.345", "amount"), ("-1", "amount"), ("ten", "amount"), ("0", "amount")],
)
def test_a_payment_amount_must_be_positive_pounds_and_pence(caseworker, amount, field):
    claim = ClaimFactory()
    with pytest.raises(ValidationError) as error:
        payment_record(
            claim=claim,
            actor=caseworker,
            head="damages",
            amount=amount,
            paid_on=datetime.date(2025, 1, 1),
            payee_type="claimant",
        )
    assert field in error.value.message_dict
    assert not Payment.objects.exists()


def test_a_payment_in_the_future_is_refused(caseworker):
    with pytest.raises(ValidationError) as error:
        payment_record(
            claim=ClaimFactory(),
            actor=caseworker,
            head="damages",
            amount="1.00",
            paid_on=datetime.date.today() + datetime.timedelta(days=2),
            payee_type="claimant",
        )
    assert "paid_on" in error.value.message_dict


def test_a_reserve_on_a_claim_changed_meanwhile_is_refused_and_nothing_written(mps_handler):
    claim = handled_by("MPS")
    claim_update(claim=claim, actor=mps_handler, expected_version=1, stage="investigation")
    with pytest.raises(StaleVersion):
        reserve_set(
            claim=claim, actor=mps_handler, head="damages", amount="5.00", expected_version=1
        )
    assert not Reserve.objects.exists()


def test_another_organisations_handler_cannot_write_to_the_claim(mdu_handler):
    claim = handled_by("MPS")
    with pytest.raises(PermissionDenied):
        reserve_set(claim=claim, actor=mdu_handler, head="damages", amount="5.00")
    with pytest.raises(PermissionDenied):
        note_add(claim=claim, actor=mdu_handler, text="Not mine")
    with pytest.raises(PermissionDenied):
        claim_update(claim=claim, actor=mdu_handler, expected_version=None, stage="negotiation")
    assert not Reserve.objects.exists() and not ClaimNote.objects.exists()
    claim.refresh_from_db()
    assert claim.stage == "letter_of_claim"


def test_an_auditor_reads_but_never_writes(auditor):
    claim = ClaimFactory()
    with pytest.raises(PermissionDenied):
        note_add(claim=claim, actor=auditor, text="Looks fine")
    assert not ClaimNote.objects.exists()


def test_a_handler_moves_the_stage_on_but_cannot_change_routing_facts_or_close(mps_handler):
    claim = handled_by("MPS")
    claim_update(claim=claim, actor=mps_handler, expected_version=None, stage="investigation")
    with pytest.raises(PermissionDenied) as error:
        claim_update(claim=claim, actor=mps_handler, expected_version=None, care_setting="trust")
    assert "care_setting" in str(error.value)
    with pytest.raises(PermissionDenied):
        claim_close(
            claim=claim, actor=mps_handler, outcome="closed_with_damages", expected_version=None
        )
    claim.refresh_from_db()
    assert (claim.stage, claim.care_setting, claim.status) == (
        "investigation",
        "general_practice",
        "open",
    )


def test_a_note_is_kept_with_its_author_and_leaves_the_version_alone(mps_handler):
    claim = handled_by("MPS")
    note = note_add(claim=claim, actor=mps_handler, text="  Called the claimant's solicitor. ")
    claim.refresh_from_db()
    assert (note.text, note.author, claim.version) == (
        "Called the claimant's solicitor.",
        mps_handler,
        1,
    )
    with pytest.raises(ValidationError):
        note_add(claim=claim, actor=mps_handler, text="   ")


def test_closing_needs_an_outcome_and_reopening_needs_a_reason(caseworker):
    claim = ClaimFactory()
    with pytest.raises(ValidationError):
        claim_close(claim=claim, actor=caseworker, outcome="", expected_version=None)
    closed = claim_close(
        claim=claim, actor=caseworker, outcome="closed_without_damages", expected_version=1
    )
    assert (closed.status, closed.outcome, closed.version) == (
        "closed",
        "closed_without_damages",
        2,
    )
    with pytest.raises(ValidationError):
        claim_reopen(claim=closed, actor=caseworker, expected_version=2, reason=" ")
    reopened = claim_reopen(claim=closed, actor=caseworker, expected_version=2, reason="New info")
    assert (reopened.status, reopened.outcome) == ("open", "")
    assert audit_events_for(subject=claim).filter(action="claim.update").count() == 2


def test_only_caseworkers_and_team_leads_assign(mps_handler):
    lead = HandlerFactory(user=UserFactory(username="mps_lead"), role="team_lead").user
    claim = handled_by("MPS")
    with pytest.raises(PermissionDenied):
        claim_assign(claim=claim, actor=mps_handler, assignee=mps_handler)
    claim_assign(claim=claim, actor=lead, assignee=mps_handler)
    claim.refresh_from_db()
    assert claim.assigned_to == mps_handler


def test_a_new_claim_is_announced_to_the_team_leads_of_the_organisation_it_is_routed_to(
    django_capture_on_commit_callbacks,
):
    from claims.models import Notification
    from tests.factories import recorded_claim

    lead = HandlerFactory(
        user=UserFactory(username="mdu_lead"),
        role="team_lead",
        organisation=HandlerOrganisation.objects.get(code="MDU"),
    ).user
    with django_capture_on_commit_callbacks(execute=True):
        claim = recorded_claim("MDU")
    notice = Notification.objects.get(recipient=lead, kind="claim_routed")
    assert notice.claim == claim
    assert "routed to MDU" in notice.message
    # Recorded in 2026 for a 2018 incident, its limitation date had passed: escalated as well.
    [escalated] = Notification.objects.filter(recipient=lead, kind="deadline_escalated")
    assert "MISSED" in escalated.message and "limitation" in escalated.message
