"""The portal's pages. Each one: who is asking (portal_page), what they may see (claims.selectors),
what they may change (the services, which lock the claim and check again), what to show."""

import datetime
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from claims.deadline_services import NotOpen, deadline_meet, deadline_refusal_message
from claims.models import Claim, Deadline, Stage, Status
from claims.notification_services import notification_mark_read, notifications_mark_all_read
from claims.selectors import (
    claim_for_page,
    claim_history,
    claim_money,
    claim_routing_history,
    claims_filter,
    claims_visible_among,
    claims_visible_to,
    claims_with_next_deadline,
    deadlines_open_for,
    notifications_for,
)
from claims.services import (
    StaleVersion,
    claim_assign,
    claim_closed_refusal,
    claim_update,
    claim_viewed,
    note_add,
    payment_record,
    reserve_set,
)
from handlers.permissions import handler_for, is_portal_team_lead, is_portal_user
from handlers.portal import forms
from handlers.portal.history import history_lines
from handlers.portal.labels import (
    DATE_LABELS,
    DONE_DATE_FIELDS,
    RECEIVED_DATE_FIELDS,
    deadline_label,
)
from handlers.selectors import colleagues_who_work_claims
from handlers.services import account_password_change
from handlers.templatetags.portal import day
from schemes.models import Scheme

PAGE_SIZE = 25
# The list pages as far as the admin counts (10,000 claims): beyond that a page is an OFFSET of
# tens of thousands of rows (seconds at 100,000 claims), and nobody pages that far rather than
# filter.
LAST_PAGE = 400
HOME_LIST_SIZE = 10
DUE_SOON_DAYS = 14


# -- who may use the portal -------------------------------------------------------------------


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    handler = handler_for(request.user)
    portal = None
    if handler is not None and is_portal_user(request.user):
        portal = {
            "organisation": handler.organisation,
            "is_team_lead": is_portal_team_lead(request.user),
            "unread": notifications_for(user=request.user, unread=True).count(),
        }
    return render(request, template, {"portal": portal, **context}, status=status)


def portal_page(view: Callable) -> Callable:
    """Anonymous visitors go to the sign-in page; signed-in people who are not MDO claim handlers
    or team leads are told, politely, where they do belong."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("portal:login"))
        if not is_portal_user(request.user):
            return not_for_you(request)
        return view(request, *args, **kwargs)

    return wrapped


def not_for_you(request: HttpRequest) -> HttpResponse:
    handler = handler_for(request.user)
    return _render(
        request,
        "portal/not_for_you.html",
        {
            "role": handler.role if handler else None,
            "organisation": handler.organisation.code if handler else None,
            "admin_user": request.user.is_staff,
        },
        status=403,
    )


def not_found(request: HttpRequest) -> HttpResponse:
    """The same page, with nothing from the request echoed, for a claim of another organisation
    and for one that does not exist (design.md §3.6)."""
    return _render(request, "portal/not_found.html", {}, status=404)


class PortalLogin(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = forms.PortalLoginForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return reverse("portal:home")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth import logout

    logout(request)
    messages.info(request, "You have signed out.")
    return redirect("portal:login")


@portal_page
def password_change(request: HttpRequest) -> HttpResponse:
    form = forms.PortalPasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        account_password_change(user=request.user, password=form.cleaned_data["new_password1"])
        update_session_auth_hash(request, request.user)
        messages.success(request, "Your password has been changed.")
        return redirect("portal:home")
    status = 400 if request.method == "POST" else 200
    return _render(request, "portal/password_change.html", {"form": form}, status=status)


# -- home, list, claim ------------------------------------------------------------------------


@portal_page
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    today = timezone.localdate()
    claims = claims_visible_to(user=user).filter(status=Status.OPEN)
    due_soon = deadlines_open_for(user=user, until=today + datetime.timedelta(days=DUE_SOON_DAYS))
    overdue = deadlines_open_for(user=user, overdue=True)
    return _render(
        request,
        "portal/home.html",
        {
            "open_count": claims.count(),
            "mine_count": claims.filter(assigned_to=user).count(),
            "due_soon": list(due_soon[: HOME_LIST_SIZE + 1]),
            "overdue": list(overdue[: HOME_LIST_SIZE + 1]),
            "unread": list(notifications_for(user=user, unread=True)[:5]),
            "list_size": HOME_LIST_SIZE,
            "due_soon_days": DUE_SOON_DAYS,
        },
    )


def _scheme_choices() -> list[tuple[str, str]]:
    return [(code, f"{code}: {name}") for code, name in Scheme.objects.values_list("code", "name")]


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), LAST_PAGE))
    except ValueError:
        return 1


def _page_of(rows: QuerySet, page: int) -> tuple[list, bool, str | None]:
    """A page of rows, whether a next page follows and, on the last page the lists offer when
    more rows follow it, how many they list at most (for the page to say so). One row more than
    a page says whether more follow, without COUNT(*)."""
    fetched = list(rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    more = len(fetched) > PAGE_SIZE
    has_next = more and page < LAST_PAGE
    listed_at_most = f"{LAST_PAGE * PAGE_SIZE:,}" if more and not has_next else None
    return fetched[:PAGE_SIZE], has_next, listed_at_most


@portal_page
def claims_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    data = request.GET.copy()
    data.setdefault("status", "open")
    form = forms.ClaimFilterForm(data, schemes=_scheme_choices())
    form.is_valid()  # invalid choices are reported and left out; the rest still filter
    chosen = form.cleaned_data
    today = timezone.localdate()
    deadline = chosen.get("deadline")
    filters = {
        "q": chosen.get("q"),
        "stage": chosen.get("stage"),
        "scheme": chosen.get("scheme"),
        "status": chosen.get("status") if chosen.get("status") in ("open", "closed") else None,
        "overdue": deadline == "overdue",
        "deadline_due_before": (
            today + datetime.timedelta(days=int(deadline))
            if deadline and deadline.isdigit()
            else None
        ),
        "assigned_to": user if chosen.get("mine") else None,
    }
    claims = claims_with_next_deadline(
        claims_filter(claims_visible_to(user=user), **filters)
    ).order_by("-created_at", "-id")
    page = _page_number(request)
    rows, has_next, listed_at_most = _page_of(claims, page)

    def page_url(number: int) -> str:
        query = {k: v for k, v in request.GET.items() if k != "page" and v}
        return "?" + urlencode({**query, "page": number})

    return _render(
        request,
        "portal/claims_list.html",
        {
            "form": form,
            "claims": rows,
            "today": today,
            "page": page,
            "first_row": (page - 1) * PAGE_SIZE + 1,
            "last_row": (page - 1) * PAGE_SIZE + len(rows),
            "previous_url": page_url(page - 1) if page > 1 else None,
            "next_url": page_url(page + 1) if has_next else None,
            "listed_at_most": listed_at_most,
            "filtered": any(v for k, v in request.GET.items() if k != "page"),
        },
        status=200 if form.is_valid() else 400,
    )


@portal_page
def claim_detail(request: HttpRequest, reference: str) -> HttpResponse:
    claim = claim_for_page(user=request.user, reference=reference)
    if claim is None:
        return not_found(request)
    claim_viewed(claim=claim, actor=request.user, channel="portal")
    decisions = claim_routing_history(claim=claim, limit=20)
    events = claim_history(claim=claim, limit=100)
    deadlines = list(claim.deadlines.all())
    return _render(
        request,
        "portal/claim_detail.html",
        {
            "claim": claim,
            "money": claim_money(claim=claim),
            "routing": decisions[0] if decisions else None,
            "earlier_routing": decisions[1:],
            "history": history_lines(events),
            "deadlines": deadlines,
            "dates": [
                (DATE_LABELS[name], getattr(claim, name))
                for name in (*RECEIVED_DATE_FIELDS, *DONE_DATE_FIELDS)
            ],
            "can_change_facts": claim.status == Status.OPEN,
        },
    )


# -- actions on a claim -----------------------------------------------------------------------


def _service_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on its field when the form has one."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            for item in errors:
                form.add_error(field if field in form.fields else None, item.messages[0])
    else:
        for message in error.messages:
            form.add_error(None, message)


def claim_action(
    *,
    form_class,
    title: str,
    button: str,
    save: Callable,
    initial: Callable[[Claim], dict] = lambda claim: {},
    form_kwargs: Callable[[HttpRequest, Claim], dict] = lambda request, claim: {},
    allowed: Callable[[HttpRequest, Claim], str | None] = lambda request, claim: None,
    template: str = "portal/claim_action.html",
    anchor: str = "",
) -> Callable:
    """A page with one form that changes one claim. The form carries the version the person saw;
    the service refuses a stale one (StaleVersion) and the page then says so, shows the claim as
    it now is, and keeps nothing of what was typed. `allowed` may say why the action is not
    open on this claim (shown instead of the form)."""

    @portal_page
    def view(request: HttpRequest, reference: str, **kwargs) -> HttpResponse:
        claim = (
            claims_visible_to(user=request.user)
            .filter(reference=reference)
            .select_related("practice", "assigned_to")
            .first()
        )
        if claim is None:
            return not_found(request)
        context = {"claim": claim, "title": title, "button": button, **kwargs}
        if "deadline_id" in kwargs:
            deadline = claim.deadlines.filter(pk=kwargs["deadline_id"]).first()
            if deadline is None:
                return not_found(request)
            context["deadline"] = deadline
            context["title"] = f"{title}: {deadline_label(deadline.kind).lower()}"
        refusal = allowed(request, claim) or (
            context.get("deadline") and deadline_refusal_message(context["deadline"])
        )
        extra = form_kwargs(request, claim)

        def fresh_form(current: Claim):
            return form_class(initial={"version": current.version, **initial(current)}, **extra)

        if refusal:
            status = 403 if allowed is _team_leads_only else 409
            return _render(request, template, {**context, "refusal": refusal}, status=status)
        if request.method != "POST":
            return _render(request, template, {**context, "form": fresh_form(claim)})
        form = form_class(
            request.POST, initial={"version": claim.version, **initial(claim)}, **extra
        )
        status = 400
        if form.is_valid():
            try:
                message = save(request, claim, form, context)
            except StaleVersion:
                claim.refresh_from_db()
                return _render(
                    request,
                    template,
                    {**context, "claim": claim, "form": fresh_form(claim), "conflict": True},
                    status=409,
                )
            except PermissionDenied:
                # The claim moved away from the organisation between reading and saving.
                return not_found(request)
            except NotOpen as refusal:
                # Closed, or the deadline met, between reading and saving.
                return _render(request, template, {**context, "refusal": str(refusal)}, status=409)
            except ValidationError as error:
                _service_errors(form, error)
            else:
                if message:
                    messages.success(request, message)
                url = reverse("portal:claim", args=[claim.reference])
                return redirect(f"{url}#{anchor}" if anchor else url)
        return _render(request, template, {**context, "form": form}, status=status)

    return view


def _open_claims_only(request: HttpRequest, claim: Claim) -> str | None:
    return claim_closed_refusal(claim, request.user)


def _team_leads_only(request: HttpRequest, claim: Claim) -> str | None:
    if not is_portal_team_lead(request.user):
        return "Only a team lead assigns claims. Ask your team lead."
    return None


def _save_stage(request, claim, form, context) -> str:
    claim_update(
        claim=claim,
        actor=request.user,
        expected_version=form.cleaned_data["version"],
        reason=form.cleaned_data["reason"] or "Stage moved on in the portal",
        stage=form.cleaned_data["stage"],
    )
    return f"Stage changed to {dict(Stage.choices)[form.cleaned_data['stage']]}."


def _save_description(request, claim, form, context) -> str | None:
    if form.cleaned_data["description"] == claim.description:
        return "Nothing was changed."
    claim_update(
        claim=claim,
        actor=request.user,
        expected_version=form.cleaned_data["version"],
        reason="Description changed in the portal",
        description=form.cleaned_data["description"],
    )
    return "Description saved."


def _save_dates(request, claim, form, context) -> str:
    changes = form.changes(claim)
    if not changes:
        return "Nothing was changed."
    claim_update(
        claim=claim,
        actor=request.user,
        expected_version=form.cleaned_data["version"],
        reason=form.cleaned_data["reason"] or "Dates recorded in the portal",
        **changes,
    )
    return f"Dates saved ({len(changes)} changed). The deadlines have been worked out again."


def _save_deadline_met(request, claim, form, context) -> str:
    deadline = deadline_meet(
        deadline=context["deadline"],
        actor=request.user,
        note=form.cleaned_data["note"],
        on=form.cleaned_data["met_on"],
        expected_version=form.cleaned_data["version"],
    )
    met_on = form.cleaned_data["met_on"]
    done = f"Recorded: {deadline_label(deadline.kind).lower()}, done on {day(met_on)}"
    if deadline.status == Deadline.DeadlineStatus.MET:
        return f"{done}."
    # Done after its day (a claim form issued after the limitation date): the date is kept,
    # and the deadline stays missed.
    return f"{done}, after its day ({day(deadline.due_on)}), so it stays missed."


def _save_note(request, claim, form, context) -> str:
    note_add(claim=claim, actor=request.user, text=form.cleaned_data["text"])
    return "Note added."


def _save_reserve(request, claim, form, context) -> str:
    reserve = reserve_set(
        claim=claim,
        actor=request.user,
        head=form.cleaned_data["head"],
        amount=form.cleaned_data["amount"],
        reason=form.cleaned_data["reason"],
        expected_version=form.cleaned_data["version"],
    )
    return f"{reserve.get_head_display()} reserve set to £{reserve.amount:,}."


def _save_payment(request, claim, form, context) -> str:
    payment = payment_record(
        claim=claim,
        actor=request.user,
        head=form.cleaned_data["head"],
        amount=form.cleaned_data["amount"],
        paid_on=form.cleaned_data["paid_on"],
        payee_type=form.cleaned_data["payee_type"],
        payee_name=form.cleaned_data["payee_name"],
        reference=form.cleaned_data["reference"],
        expected_version=form.cleaned_data["version"],
    )
    return f"Payment of £{payment.amount:,} recorded."


def _save_assignment(request, claim, form, context) -> str:
    assignee = form.cleaned_data["assignee"]
    claim_assign(
        claim=claim,
        actor=request.user,
        assignee=assignee,
        reason=form.cleaned_data["reason"],
        expected_version=form.cleaned_data["version"],
    )
    return f"Claim assigned to {assignee.get_full_name() or assignee.get_username()}."


def _colleagues(request, claim) -> dict:
    return {
        "colleagues": colleagues_who_work_claims(
            organisation_id=handler_for(request.user).organisation_id
        )
    }


claim_stage = claim_action(
    form_class=forms.StageForm,
    title="Move the stage on",
    button="Save stage",
    save=_save_stage,
    initial=lambda claim: {"stage": claim.stage},
    allowed=_open_claims_only,
    anchor="facts",
)
claim_description = claim_action(
    form_class=forms.DescriptionForm,
    title="Change the description",
    button="Save description",
    save=_save_description,
    initial=lambda claim: {"description": claim.description},
    allowed=_open_claims_only,
    anchor="facts",
)
claim_dates = claim_action(
    form_class=forms.DatesForm,
    title="Record dates",
    button="Save dates",
    save=_save_dates,
    initial=lambda claim: {
        name: getattr(claim, name) for name in (*RECEIVED_DATE_FIELDS, *DONE_DATE_FIELDS)
    },
    allowed=_open_claims_only,
    template="portal/claim_dates.html",
    anchor="deadlines",
)
deadline_met = claim_action(
    form_class=forms.DeadlineMeetForm,
    title="Record as done",
    button="Record as done",
    save=_save_deadline_met,
    initial=lambda claim: {"met_on": timezone.localdate()},
    allowed=_open_claims_only,
    anchor="deadlines",
)
claim_note = claim_action(
    form_class=forms.NoteForm,
    title="Add a note",
    button="Save note",
    save=_save_note,
    anchor="notes",
)
claim_reserve = claim_action(
    form_class=forms.ReserveForm,
    title="Set a reserve",
    button="Save reserve",
    save=_save_reserve,
    anchor="money",
)
claim_payment = claim_action(
    form_class=forms.PaymentForm,
    title="Record a payment",
    button="Save payment",
    save=_save_payment,
    initial=lambda claim: {"paid_on": timezone.localdate()},
    anchor="money",
)
claim_assignment = claim_action(
    form_class=forms.AssignForm,
    title="Assign the claim",
    button="Assign",
    save=_save_assignment,
    initial=lambda claim: {"assignee": claim.assigned_to_id},
    form_kwargs=_colleagues,
    allowed=_team_leads_only,
    anchor="facts",
)


# -- notifications ----------------------------------------------------------------------------


@portal_page
def notifications(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") != "all"
    page = _page_number(request)
    rows, has_next, listed_at_most = _page_of(
        notifications_for(user=request.user, unread=unread_only), page
    )
    # A claim may have moved away since: link only to those still visible.
    visible = claims_visible_among(
        user=request.user, claim_ids={n.claim_id for n in rows if n.claim_id}
    )
    show = {} if unread_only else {"show": "all"}
    return _render(
        request,
        "portal/notifications.html",
        {
            "rows": [(n, n.claim_id in visible) for n in rows],
            "unread_only": unread_only,
            "previous_url": "?" + urlencode({**show, "page": page - 1}) if page > 1 else None,
            "next_url": "?" + urlencode({**show, "page": page + 1}) if has_next else None,
            "listed_at_most": listed_at_most,
        },
    )


@require_POST
@portal_page
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = notifications_for(user=request.user).filter(pk=pk).first()
    if notification is None:
        return not_found(request)
    notification_mark_read(notification=notification)
    messages.success(request, "Notification marked as read.")
    return redirect(reverse("portal:notifications") + _safe_show(request))


@require_POST
@portal_page
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = notifications_mark_all_read(user=request.user)
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked as read.")
    return redirect(reverse("portal:notifications") + _safe_show(request))


def _safe_show(request: HttpRequest) -> str:
    return "?show=all" if request.POST.get("show") == "all" else ""
