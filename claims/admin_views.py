"""The claim page's own pages in the admin: meet or waive a deadline, set a reserve, record a
payment, add a note, and the CSV export of the list. Each checks who is asking (caseworkers act,
auditors only look), shows what will change, and writes through a service."""

import csv
from collections.abc import Iterable, Iterator

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from claims import admin_forms
from claims.deadline_services import (
    NO_LONGER_APPLIES,
    NotOpen,
    deadline_completion_field,
    deadline_meet,
    deadline_refusal,
    deadline_waive,
)
from claims.models import Deadline
from claims.selectors import (
    EXPORT_COLUMNS,
    claims_export_rows,
)
from claims.services import (
    StaleVersion,
    claims_export_recorded,
    note_add,
    payment_record,
    reserve_set,
)
from handlers.portal.labels import DATE_LABELS, deadline_label

STALE = (
    "Someone changed this claim after you opened this page, so nothing was saved. "
    "The claim below is as it is now; check it, then try again."
)


def _claim_or_404(modeladmin, request, object_id):
    claim = modeladmin.get_object(request, object_id)
    if claim is None:
        raise Http404("No such claim.")
    return claim


def _caseworker_only(modeladmin, request, claim) -> None:
    if not modeladmin.has_change_permission(request, claim):
        raise PermissionDenied("Only NHS Resolution caseworkers change claims.")


def _claim_url(claim, anchor: str = "") -> str:
    return reverse("admin:claims_claim_change", args=[claim.pk]) + (f"#{anchor}" if anchor else "")


def _page(modeladmin, request, claim, *, title, explain, form, button, **extra):
    """The action's page: a 400 when the form was sent back with errors."""
    return TemplateResponse(
        request,
        "admin/claims/claim/claim_action.html",
        {
            **modeladmin.admin_site.each_context(request),
            "opts": modeladmin.model._meta,
            "original": claim,
            "title": title,
            "explain": explain,
            "form": form,
            "button": button,
            "back_url": _claim_url(claim),
            **extra,
        },
        status=400 if form.errors else 200,
    )


def _written(request, form, write) -> bool:
    """On a POST whose form is valid, `write(form.cleaned_data)` through a service; a refusal
    (a stale version, a rule broken, no right) goes on the form. True once written."""
    if request.method != "POST" or not form.is_valid():
        return False
    try:
        write(form.cleaned_data)
    except (StaleVersion, ValidationError, PermissionDenied, NotOpen) as exc:
        _service_errors(form, exc)
        return False
    return True


def _service_errors(form, exc: Exception) -> None:
    if isinstance(exc, StaleVersion):
        form.add_error(None, STALE)
    elif isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages if isinstance(exc, ValidationError) else str(exc))


def deadline_action(modeladmin, request, object_id, deadline_id: int, what: str):
    claim = _claim_or_404(modeladmin, request, object_id)
    _caseworker_only(modeladmin, request, claim)
    deadline = get_object_or_404(Deadline, pk=deadline_id, claim=claim)
    if what not in ("met", "waive"):
        raise Http404("No such action.")
    deadline.claim = claim
    refusal = deadline_refusal(deadline)
    if refusal:
        messages.error(
            request, f"{deadline_label(deadline.kind)} cannot be changed now: {refusal}."
        )
        return HttpResponseRedirect(_claim_url(claim, "deadlines"))
    label = deadline_label(deadline.kind)
    due = deadline.due_on.isoformat() if deadline.due_on else "no date (suspended)"
    if what == "waive":
        form = admin_forms.DeadlineWaiveForm(
            request.POST or None, initial={"version": claim.version}
        )
        if _written(
            request,
            form,
            lambda data: deadline_waive(
                deadline=deadline, actor=request.user, reason=data["reason"]
            ),
        ):
            messages.success(request, f"{label} (due {due}) is waived.")
            return HttpResponseRedirect(_claim_url(claim, "deadlines"))
        return _page(
            modeladmin,
            request,
            claim,
            title=f"Waive a deadline of {claim.reference}?",
            explain=[
                f"{label}, due {due}, is now {deadline.get_status_display().lower()}.",
                "It will become waived: no reminders, never missed. Your reason is kept in the "
                "deadline's history and the audit trail. If the claim's dates change later, "
                "its due date still follows them, and it stays waived.",
            ],
            form=form,
            button="Waive it",
        )
    met_by = deadline_completion_field(deadline.kind)
    if met_by is None:
        messages.error(request, f"{label} cannot be met: {NO_LONGER_APPLIES.lower()}.")
        return HttpResponseRedirect(_claim_url(claim, "deadlines"))
    form = admin_forms.DeadlineMeetForm(
        request.POST or None, initial={"version": claim.version, "on": timezone.localdate()}
    )
    if _written(
        request,
        form,
        lambda data: deadline_meet(
            deadline=deadline,
            actor=request.user,
            note=data["note"],
            on=data["on"],
            expected_version=data["version"],
        ),
    ):
        deadline.refresh_from_db()
        messages.success(
            request,
            f"{label} is recorded as done; it is now {deadline.get_status_display().lower()}.",
        )
        return HttpResponseRedirect(_claim_url(claim, "deadlines"))
    explain = [
        f"{label}, due {due}, is now {deadline.get_status_display().lower()}.",
        (
            f"The claim's date “{DATE_LABELS.get(met_by, met_by)}” will be set to the day you "
            "give, which meets this deadline; any deadline that date starts is worked out again."
            if met_by
            else "An internal service level: the day you give is recorded on the deadline itself, "
            "which meets it; no date of the claim changes."
        ),
    ]
    if deadline.kind == "limitation":
        explain.append(
            "Limitation is met only if the claim form was issued on or before its last day; "
            "a later date records it as missed."
        )
    return _page(
        modeladmin,
        request,
        claim,
        title=f"Record a deadline of {claim.reference} as done?",
        explain=explain,
        form=form,
        button="Record it as done",
    )


def reserve_add(modeladmin, request, object_id):
    claim = _claim_or_404(modeladmin, request, object_id)
    _caseworker_only(modeladmin, request, claim)
    form = admin_forms.ReserveForm(request.POST or None, initial={"version": claim.version})
    if _written(
        request,
        form,
        lambda data: reserve_set(
            claim=claim,
            actor=request.user,
            head=data["head"],
            amount=data["amount"],
            reason=data["reason"],
            expected_version=data["version"],
        ),
    ):
        messages.success(request, f"Reserve set: £{form.cleaned_data['amount']:,.2f}.")
        return HttpResponseRedirect(_claim_url(claim, "money"))
    return _page(
        modeladmin,
        request,
        claim,
        title=f"Set a reserve on {claim.reference}",
        explain=[
            "The amount becomes the head's current reserve (what it is expected to cost in "
            "all). The earlier figure stays in the reserve history."
        ],
        form=form,
        button="Set the reserve",
    )


def payment_add(modeladmin, request, object_id):
    claim = _claim_or_404(modeladmin, request, object_id)
    _caseworker_only(modeladmin, request, claim)
    form = admin_forms.PaymentForm(
        request.POST or None, initial={"version": claim.version, "paid_on": timezone.localdate()}
    )
    if _written(
        request,
        form,
        lambda data: payment_record(
            claim=claim,
            actor=request.user,
            head=data["head"],
            amount=data["amount"],
            paid_on=data["paid_on"],
            payee_type=data["payee_type"],
            payee_name=data["payee_name"],
            reference=data["reference"],
            expected_version=data["version"],
        ),
    ):
        messages.success(request, f"Payment recorded: £{form.cleaned_data['amount']:,.2f}.")
        return HttpResponseRedirect(_claim_url(claim, "money"))
    return _page(
        modeladmin,
        request,
        claim,
        title=f"Record a payment on {claim.reference}",
        explain=["The payment is added to the claim's payments and its totals; it is audited."],
        form=form,
        button="Record the payment",
    )


def note_create(modeladmin, request, object_id):
    claim = _claim_or_404(modeladmin, request, object_id)
    _caseworker_only(modeladmin, request, claim)
    form = admin_forms.NoteForm(request.POST or None)
    if _written(
        request, form, lambda data: note_add(claim=claim, actor=request.user, text=data["text"])
    ):
        messages.success(request, "Note added.")
        return HttpResponseRedirect(_claim_url(claim, "notes"))
    return _page(
        modeladmin,
        request,
        claim,
        title=f"Add a note to {claim.reference}",
        explain=["Notes are never edited or deleted; the note and your name are kept."],
        form=form,
        button="Add the note",
    )


class _Echo:
    """csv.writer writes to a file; this one hands each line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


# A cell that starts like a formula is run by spreadsheet programs: prefix it so it is text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_lines(rows: Iterable[tuple]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([heading for heading, _ in EXPORT_COLUMNS])
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])


def claims_export(modeladmin, request):
    """The claim list as it is filtered, searched and ordered, as CSV, streamed: rows are read
    from a server-side cursor a chunk at a time and written out as they come, so 100,000 rows
    take the memory of one chunk (measured by make bench)."""
    if not modeladmin.has_view_permission(request):
        raise PermissionDenied("Only caseworkers and auditors export claims.")
    changelist = modeladmin.get_changelist_instance(request)
    claims = changelist.get_queryset(request)
    claims_export_recorded(actor=request.user, query=request.GET.urlencode())
    response = StreamingHttpResponse(
        _csv_lines(claims_export_rows(claims)), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="claims-{stamp}.csv"'
    return response
