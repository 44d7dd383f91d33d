"""The claim list's actions: re-route, assign, close, reopen, clear a possible-duplicate flag.

Each shows a confirmation page first, saying claim by claim what will change (a re-route is
worked out by the routing service itself and rolled back), then does it through the services,
which lock each claim, check the caseworker's rights and write the audit trail. All the selected
claims change or none: a claim changed by someone else since the page was drawn (its version
moved on), or one the service refuses, stops the lot and the page says which and why."""

from dataclasses import dataclass

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme

from claims.admin_forms import AssignForm, CloseForm, OptionalReasonForm, ReasonForm
from claims.models import Claim, Deadline, Outcome, Status
from claims.selectors import UNMET_DEADLINE_STATUSES, claim_assignees
from claims.services import (
    REROUTE_SELECTION_LIMIT,
    StaleVersion,
    claim_assign,
    claim_close,
    claim_duplicate_dismiss,
    claim_reopen,
    claims_reroute,
    claims_reroute_preview,
)

# Closing, reopening and assigning are one locked write per claim; more than this many at once
# belongs in a bulk job, not a web request.
ACTION_SELECTION_LIMIT = 500


@dataclass
class Row:
    claim: Claim
    now: str
    after: str
    skipped: str = ""


def _placement(schemes: str, lead_handler: str) -> str:
    return f"{schemes.replace(',', ', ') or 'not routed'}, lead {lead_handler or 'nobody'}"


def _selected(modeladmin, request, queryset, limit: int = ACTION_SELECTION_LIMIT):
    claims = list(
        queryset.select_related("assigned_to", "possible_duplicate_of").order_by("reference")[
            : limit + 1
        ]
    )
    if len(claims) > limit:
        modeladmin.message_user(
            request,
            f"Select at most {limit} claims for this action; narrow the list with the filters.",
            messages.ERROR,
        )
        return None
    return claims


def _versions(request) -> dict[int, int]:
    versions = {}
    for name, value in request.POST.items():
        if name.startswith("version-") and value.isdigit():
            versions[int(name.removeprefix("version-"))] = int(value)
    return versions


def _back(request):
    """After an action started from a claim's page, back to that page; else to the list."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return None


def _done(modeladmin, request, message: str):
    modeladmin.message_user(request, message, messages.SUCCESS)
    return _back(request)


def _errors_of(exc: Exception, claim: Claim) -> list[str]:
    if isinstance(exc, StaleVersion):
        return [
            f"{claim.reference} was changed by someone else after this page was drawn: "
            "nothing has been changed. Check the claims below again."
        ]
    if isinstance(exc, ValidationError):
        return [f"{claim.reference}: {message}" for message in exc.messages]
    return [f"{claim.reference}: {exc}"]


def _page(modeladmin, request, *, action, title, intro, rows, form, button, errors=()):
    return TemplateResponse(
        request,
        "admin/claims/claim/action_confirm.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "rows": rows,
            "form": form,
            "button": button,
            "errors": list(errors),
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "next": request.POST.get("next", ""),
            "opts": modeladmin.model._meta,
            "changing": sum(1 for row in rows if not row.skipped),
        },
    )


def _claims(count: int) -> str:
    return f"{count} claim{'s' if count != 1 else ''}"


def _apply(request, claims, write) -> list[str]:
    """Run `write(claim, version)` for each claim in one transaction, all or none; `version` is
    the one the confirmation page showed, so a claim changed since stops the lot."""
    versions = _versions(request)
    claim = None
    try:
        with transaction.atomic():
            for claim in claims:
                write(claim, versions.get(claim.pk))
    except (StaleVersion, ValidationError, PermissionDenied) as exc:
        return _errors_of(exc, claim)
    return []


@admin.action(description="Re-route the selected claims", permissions=["change"])
def reroute_claims(modeladmin, request, queryset):
    claims = _selected(modeladmin, request, queryset, REROUTE_SELECTION_LIMIT)
    if claims is None:
        return None
    confirmed = "confirm" in request.POST
    form = OptionalReasonForm(request.POST if confirmed else None)
    errors = []
    if confirmed and form.is_valid():
        outcome = claims_reroute(
            claim_ids=[claim.pk for claim in claims],
            actor=request.user,
            reason=form.cleaned_data["reason"],
        )
        return _done(
            modeladmin,
            request,
            f"Re-routed {_claims(outcome.routed)}: {len(outcome.moves)} moved, the rest stay "
            "where they were. Each has a new entry in its routing history.",
        )
    moves = {
        move.claim_id: move
        for move in claims_reroute_preview(claim_ids=[c.pk for c in claims], actor=request.user)
    }
    rows = []
    for claim in claims:
        move = moves.get(claim.pk)
        after = (
            "moves to " + _placement(move.after.schemes, move.after.lead_handler)
            if move
            else "stays where it is"
        )
        rows.append(Row(claim, _placement(claim.schemes, claim.lead_handler), after))
    return _page(
        modeladmin,
        request,
        action="reroute_claims",
        title="Re-route these claims?",
        intro=(
            f"Routing runs again on today's facts, memberships and agreements. {len(moves)} of "
            f"{len(claims)} would move; when a claim moves, the organisations it leaves and "
            "joins are told. Every claim gets an entry in its routing history saying you "
            "re-routed it. Nothing has changed yet."
        ),
        rows=rows,
        form=form,
        button="Yes, re-route them",
        errors=errors,
    )


@admin.action(description="Assign the selected claims to a person", permissions=["change"])
def assign_claims(modeladmin, request, queryset):
    claims = _selected(modeladmin, request, queryset)
    if claims is None:
        return None
    confirmed = "confirm" in request.POST
    assignees = claim_assignees(claims=Claim.objects.filter(pk__in=[c.pk for c in claims]))
    form = AssignForm(request.POST if confirmed else None, assignees=assignees)
    errors: list[str] = []
    if confirmed and form.is_valid():
        assignee = form.cleaned_data["assignee"]
        errors = _apply(
            request,
            [c for c in claims if c.assigned_to_id != assignee.pk],
            lambda claim, version: claim_assign(
                claim=claim,
                actor=request.user,
                assignee=assignee,
                reason=form.cleaned_data["reason"],
                expected_version=version,
            ),
        )
        if not errors:
            return _done(
                modeladmin,
                request,
                f"Assigned {_claims(len(claims))} to {AssignForm.assignee_label(assignee)}; "
                "they have been told.",
            )
    chosen = form.cleaned_data.get("assignee") if form.is_bound and form.is_valid() else None
    rows = [
        Row(
            claim,
            str(claim.assigned_to or "nobody"),
            AssignForm.assignee_label(chosen) if chosen else "the person you choose",
            "already theirs" if chosen and claim.assigned_to_id == chosen.pk else "",
        )
        for claim in claims
    ]
    return _page(
        modeladmin,
        request,
        action="assign_claims",
        title="Assign these claims?",
        intro=(
            "The person you choose becomes the claims' assignee and is told. Only people who "
            "can see every one of these claims are offered. Nothing has changed yet."
        ),
        rows=rows,
        form=form,
        button="Assign them",
        errors=errors,
    )


@admin.action(description="Close the selected claims with an outcome", permissions=["change"])
def close_claims(modeladmin, request, queryset):
    claims = _selected(modeladmin, request, queryset)
    if claims is None:
        return None
    confirmed = "confirm" in request.POST
    form = CloseForm(request.POST if confirmed else None)
    to_close = [claim for claim in claims if claim.status == Status.OPEN]
    errors: list[str] = []
    if confirmed and form.is_valid():
        errors = _apply(
            request,
            to_close,
            lambda claim, version: claim_close(
                claim=claim,
                actor=request.user,
                outcome=form.cleaned_data["outcome"],
                reason=form.cleaned_data["reason"],
                expected_version=version,
            ),
        )
        if not errors:
            return _done(
                modeladmin,
                request,
                f"Closed {_claims(len(to_close))}: "
                f"{dict(Outcome.choices)[form.cleaned_data['outcome']].lower()}.",
            )
    unmet = dict(
        Deadline.objects.filter(claim__in=to_close, status__in=UNMET_DEADLINE_STATUSES)
        .values("claim_id")
        .annotate(n=Count("id"))
        .values_list("claim_id", "n")
    )
    outcome = form.cleaned_data.get("outcome") if form.is_bound and form.is_valid() else None
    rows = []
    for claim in claims:
        if claim.status != Status.OPEN:
            rows.append(Row(claim, f"Closed: {claim.get_outcome_display()}", "", "already closed"))
            continue
        after = f"Closed: {dict(Outcome.choices)[outcome]}" if outcome else "Closed, as you choose"
        if unmet.get(claim.pk):
            after += f" ({unmet[claim.pk]} unmet deadline(s) stay in its history as they are)"
        rows.append(Row(claim, f"Open: {claim.get_stage_display()}", after))
    return _page(
        modeladmin,
        request,
        action="close_claims",
        title="Close these claims?",
        intro=(
            "Each open claim becomes closed with the outcome you choose; the reason goes in "
            "its audit trail. A closed claim can be reopened. Nothing has changed yet."
        ),
        rows=rows,
        form=form,
        button="Close them",
        errors=errors,
    )


@admin.action(description="Reopen the selected closed claims", permissions=["change"])
def reopen_claims(modeladmin, request, queryset):
    claims = _selected(modeladmin, request, queryset)
    if claims is None:
        return None
    confirmed = "confirm" in request.POST
    form = ReasonForm(request.POST if confirmed else None)
    to_reopen = [claim for claim in claims if claim.status == Status.CLOSED]
    errors: list[str] = []
    if confirmed and form.is_valid():
        errors = _apply(
            request,
            to_reopen,
            lambda claim, version: claim_reopen(
                claim=claim,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                expected_version=version,
            ),
        )
        if not errors:
            return _done(modeladmin, request, f"Reopened {_claims(len(to_reopen))}.")
    rows = [
        Row(claim, f"Closed: {claim.get_outcome_display()}", "Open, outcome cleared")
        if claim.status == Status.CLOSED
        else Row(claim, "Open", "", "not closed")
        for claim in claims
    ]
    return _page(
        modeladmin,
        request,
        action="reopen_claims",
        title="Reopen these claims?",
        intro=(
            "Each closed claim becomes open again and loses its outcome; say why, for the "
            "audit trail. Its deadlines are as they were when it closed. Nothing has changed yet."
        ),
        rows=rows,
        form=form,
        button="Reopen them",
        errors=errors,
    )


@admin.action(
    description="Not a duplicate: clear the possible-duplicate flag", permissions=["change"]
)
def dismiss_duplicates(modeladmin, request, queryset):
    claims = _selected(modeladmin, request, queryset)
    if claims is None:
        return None
    confirmed = "confirm" in request.POST
    form = ReasonForm(request.POST if confirmed else None)
    flagged = [claim for claim in claims if claim.possible_duplicate_of_id]
    errors: list[str] = []
    if confirmed and form.is_valid():
        errors = _apply(
            request,
            flagged,
            lambda claim, version: claim_duplicate_dismiss(
                claim=claim,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                expected_version=version,
            ),
        )
        if not errors:
            return _done(
                modeladmin,
                request,
                f"Cleared the possible-duplicate flag of {_claims(len(flagged))}.",
            )
    rows = [
        Row(claim, f"Possible duplicate of {claim.possible_duplicate_of}", "No flag")
        if claim.possible_duplicate_of_id
        else Row(claim, "Not flagged", "", "not flagged")
        for claim in claims
    ]
    return _page(
        modeladmin,
        request,
        action="dismiss_duplicates",
        title="Clear the possible-duplicate flag?",
        intro=(
            "Do this once you have checked that each claim is a claim of its own and not the "
            "earlier one sent again; the earlier claim's reference and your reason stay in the "
            "audit trail. A claim that is a duplicate is closed instead. Nothing has changed yet."
        ),
        rows=rows,
        form=form,
        button="Clear the flag",
        errors=errors,
    )


CLAIM_ACTIONS = [reroute_claims, assign_claims, close_claims, reopen_claims, dismiss_duplicates]
