"""The caseworkers' workbench in the admin (issue 6; docs/admin.md). The claim list filters and
searches over indexes and never counts a million rows; the claim page shows everything about a
claim in a fixed number of queries; every change goes through claims.services and friends."""

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from claims import admin_views
from claims.admin_actions import CLAIM_ACTIONS
from claims.admin_filters import (
    AssignedFilter,
    DeadlineFilter,
    FlagFilter,
    HandlerFilter,
    IncidentDateFilter,
    LeadHandlerFilter,
    NotifiedFilter,
    SchemeFilter,
    TriageFilter,
)
from claims.admin_forms import ClaimAdminForm
from claims.models import (
    COMPLETION_DATE_FIELDS,
    TRIGGER_DATE_FIELDS,
    Claim,
    Deadline,
    DeadlineChange,
    Notification,
    RoutingJob,
    ServiceLevel,
    Status,
)
from claims.selectors import (
    TRIAGE_ORDER,
    claim_clinicians_cover,
    claim_history,
    claim_money,
    claim_page_prefetches,
    claim_possible_duplicates,
    claim_routing_history,
    claims_for_page,
    claims_search_casework,
    claims_with_next_deadline,
    routing_current_in,
)
from claims.services import (
    CLAIM_EDITABLE_FIELDS,
    StaleVersion,
    claim_change,
    claim_create,
    claim_viewed,
)
from claims.templatetags.workbench import due_state
from handlers.admin import CaseworkerAdmin, CaseworkerInline
from handlers.portal.history import history_lines
from handlers.portal.labels import deadline_label

# A deadline this close is shown as near (amber); one past its day as missed (red).
NEAR_DAYS = 7


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 matching rows (`SELECT count(*) FROM (... LIMIT n)`), so a
    page of a million claims costs a bounded count, and says "more than 10,000" beyond it."""

    COUNT_CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list.values("pk").order_by()[: self.COUNT_CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.COUNT_CAP


class ClaimChangeList(ChangeList):
    def get_results(self, request):
        # The list's columns in the list's one query (practice, assignee, next deadline);
        # actions and the export read get_queryset, which stays without them.
        self.queryset = claims_with_next_deadline(self.queryset)
        super().get_results(request)
        self.count_capped = self.paginator.capped


class ReadOnlyInline(CaseworkerInline):
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


CLAIM_COMPUTED_FIELDS = (
    "reference",
    "status",
    "outcome",
    "schemes",
    "lead_handler",
    "handlers",
    "flags",
    "needs_triage",
    "possible_duplicate_of",
    "assigned_to",
    "version",
    "created_at",
    "updated_at",
)


def _is_claim_page(request) -> bool:
    match = request.resolver_match
    return match is not None and match.url_name == "claims_claim_change"


@admin.register(Claim)
class ClaimAdmin(CaseworkerAdmin):
    form = ClaimAdminForm
    change_form_template = "admin/claims/claim/change_form.html"
    change_list_template = "admin/claims/claim/change_list.html"
    list_display = [
        "reference",
        "claimant",
        "practice_column",
        "schemes_column",
        "lead_column",
        "stage",
        "status_column",
        "next_deadline",
        "flags_column",
        "assigned_to",
        "notified_on",
    ]
    # Sorting only by columns with an index of their own: any other order over a million rows
    # is a sort of the whole table.
    sortable_by = ["reference", "claimant", "notified_on"]
    list_filter = [
        TriageFilter,
        DeadlineFilter,
        SchemeFilter,
        LeadHandlerFilter,
        HandlerFilter,
        "stage",
        "status",
        FlagFilter,
        AssignedFilter,
        IncidentDateFilter,
        NotifiedFilter,
    ]
    search_fields = ["reference"]  # shows the box; get_search_results does the searching
    search_help_text = (
        "A claim reference, an NHS number (with or without spaces), a clinician's GMC number, "
        "a practice's ODS code, the sender's reference, or part of the claimant's or the "
        "practice's name."
    )
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    list_max_show_all = 200
    actions = CLAIM_ACTIONS
    autocomplete_fields = ["practice", "source_organisation"]

    # -- who may do what --------------------------------------------------------------------

    def has_delete_permission(self, request, obj=None):
        # A claim is closed with an outcome, never deleted: its history is the record.
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # -- the list ---------------------------------------------------------------------------

    def get_changelist(self, request, **kwargs):
        return ClaimChangeList

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(
                "practice", "assigned_to", "source_organisation", "possible_duplicate_of"
            )
        )

    def get_object(self, request, object_id, from_field=None):
        """On the claim page (GET), the claim with everything its page shows, read once for the
        form and the panels; elsewhere (saves, actions, history) the claim alone."""
        claim = super().get_object(request, object_id, from_field)
        if claim is not None and request.method == "GET" and _is_claim_page(request):
            prefetch_related_objects([claim], *claim_page_prefetches())
        return claim

    def get_ordering(self, request):
        if request.GET.get("triage") == "queue":
            return TRIAGE_ORDER
        return ["-created_at", "-id"]

    def get_search_results(self, request, queryset, search_term):
        return claims_search_casework(queryset, search_term), False

    @admin.display(description="Claimant", ordering="claimant_name")
    def claimant(self, claim):
        if not claim.claimant_nhs_number:
            return claim.claimant_name
        return format_html(
            '{}<br><span class="claims-muted">{}</span>',
            claim.claimant_name,
            claim.claimant_nhs_number_display,
        )

    @admin.display(description="Practice")
    def practice_column(self, claim):
        if claim.practice is None:
            return "-"
        return format_html(
            '{}<br><span class="claims-muted">{}</span>',
            claim.practice.ods_code,
            claim.practice.name,
        )

    @admin.display(description="Scheme")
    def schemes_column(self, claim):
        return claim.schemes.replace(",", ", ") or "not routed"

    @admin.display(description="Lead handler")
    def lead_column(self, claim):
        return claim.lead_handler or "nobody"

    @admin.display(description="Status")
    def status_column(self, claim):
        if claim.status == Status.CLOSED:
            return f"Closed: {claim.get_outcome_display().lower()}"
        return "Open"

    @admin.display(description="Next deadline")
    def next_deadline(self, claim):
        due = getattr(claim, "next_deadline_on", None)
        if due is None or claim.status != Status.OPEN:
            return "-"
        today = timezone.localdate()
        days = (due - today).days
        state = due_state(due, today, NEAR_DAYS)
        if state == "missed":
            words = f"MISSED {-days} day{'s' if days != -1 else ''} ago"
        elif state == "near":
            words = "due today" if days == 0 else f"due in {days} day{'s' if days != 1 else ''}"
        else:
            words = f"in {days} days"
        return format_html(
            '<span class="claims-deadline claims-deadline-{}">{}: {}</span>'
            '<br><span class="claims-muted">{}</span>',
            state,
            due.isoformat(),
            words,
            deadline_label(claim.next_deadline_kind),
        )

    @admin.display(description="Flags")
    def flags_column(self, claim):
        tags = [(flag.replace("_", " ").lower(),) for flag in claim.flags.split(",") if flag]
        if "UNDETERMINED" in claim.schemes:
            tags.insert(0, ("undetermined",))
        if claim.possible_duplicate_of_id:
            tags.append(("possible duplicate",))
        return format_html_join(" ", '<span class="claims-flag">{}</span>', tags) or "-"

    def changelist_view(self, request, extra_context=None):
        context = {
            "export_url": reverse("admin:claims_claim_export"),
            "triage_view": request.GET.get("triage") == "queue",
        }
        return super().changelist_view(request, {**context, **(extra_context or {})})

    # -- the claim page ---------------------------------------------------------------------

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return list(CLAIM_COMPUTED_FIELDS)
        return [*CLAIM_COMPUTED_FIELDS, "source_organisation"]

    def get_fieldsets(self, request, obj=None):
        facts = [
            "matter_type",
            "practice",
            "clinicians",
            "care_setting",
            "activity",
            ("coronavirus_response", "other_indemnity", "provider_cnst_member"),
            "incident_date",
            ("incident_date_from", "incident_date_to"),
            "date_of_knowledge",
        ]
        if obj is None:
            computed = []
        else:
            computed = [
                (
                    "Worked out by the system, or changed by the actions (read-only)",
                    {"fields": [*CLAIM_COMPUTED_FIELDS, "source_organisation"]},
                )
            ]
        return [
            (
                "Claimant",
                {
                    "fields": [
                        "claimant_name",
                        ("claimant_date_of_birth", "claimant_date_of_death"),
                        "claimant_nhs_number",
                        "claimant_lacks_capacity",
                    ]
                },
            ),
            ("Facts that routing reads", {"fields": facts}),
            (
                "The claim",
                {
                    "fields": [
                        "external_ref",
                        *([] if obj else ["source_organisation"]),
                        "notified_on",
                        "stage",
                        "description",
                        "expected_version",
                    ]
                },
            ),
            (
                "Dates that start deadlines",
                {"fields": [f for f in TRIGGER_DATE_FIELDS if f not in COMPLETION_DATE_FIELDS]},
            ),
            ("Dates that meet deadlines", {"fields": list(COMPLETION_DATE_FIELDS)}),
            *computed,
        ]

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("export/", wrap(self.export_view), name="claims_claim_export"),
            path(
                "<path:object_id>/deadlines/<int:deadline_id>/<str:what>/",
                wrap(self.deadline_view),
                name="claims_claim_deadline",
            ),
            path("<path:object_id>/reserve/", wrap(self.reserve_view), name="claims_claim_reserve"),
            path("<path:object_id>/payment/", wrap(self.payment_view), name="claims_claim_payment"),
            path("<path:object_id>/note/", wrap(self.note_view), name="claims_claim_note"),
            *super().get_urls(),
        ]

    def export_view(self, request):
        return admin_views.claims_export(self, request)

    def deadline_view(self, request, object_id, deadline_id, what):
        return admin_views.deadline_action(self, request, object_id, deadline_id, what)

    def reserve_view(self, request, object_id):
        return admin_views.reserve_add(self, request, object_id)

    def payment_view(self, request, object_id):
        return admin_views.payment_add(self, request, object_id)

    def note_view(self, request, object_id):
        return admin_views.note_create(self, request, object_id)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context.update(self.claim_panels(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def claim_panels(self, request, obj) -> dict:
        """What the claim page shows above the form: a fixed number of queries (pinned by
        tests/admin/test_queries.py)."""
        # A form sent back with errors has put its values on obj: the panels show what is stored.
        claim = (
            obj
            if request.method == "GET"
            else claims_for_page(self.get_queryset(request)).get(pk=obj.pk)
        )
        if request.method == "GET":
            claim_viewed(claim=claim, actor=request.user, channel="admin")
        deadlines = list(claim.deadlines.all())
        routing_history = claim_routing_history(claim=claim, limit=50)
        today = timezone.localdate()
        can_change = self.has_change_permission(request, claim)
        actions = [("reroute_claims", "Re-route"), ("assign_claims", "Assign")]
        if claim.status == Status.OPEN:
            actions.append(("close_claims", "Close with an outcome"))
        else:
            actions.append(("reopen_claims", "Reopen"))
        if claim.possible_duplicate_of_id:
            actions.append(("dismiss_duplicates", "Not a duplicate"))
        return {
            "claim_actions": actions,
            "claim": claim,
            "today": today,
            "near_days": NEAR_DAYS,
            "can_act": can_change,
            "can_act_on_deadlines": can_change and claim.status == Status.OPEN,
            "money": claim_money(claim=claim),
            "routing": routing_current_in(routing_history),
            "routing_history": routing_history,
            "clinicians": claim_clinicians_cover(claim=claim, today=today),
            "duplicates": claim_possible_duplicates(claim=claim),
            "deadlines": deadlines,
            "history": history_lines(claim_history(claim=claim, limit=200)),
            "changelist_url": reverse("admin:claims_claim_changelist"),
        }

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleVersion:
            self.message_user(request, admin_views.STALE, messages.ERROR)
            return HttpResponseRedirect(request.path)

    def save_model(self, request, obj, form, change):
        """Nothing here: the claim is written by the services in save_related, once the whole
        form is known, so the facts and the clinicians are one change with one re-route."""

    def save_related(self, request, form, formsets, change):
        data = form.cleaned_data
        obj = form.instance
        if not change:
            model_fields = {field.name for field in Claim._meta.concrete_fields}
            fields = {name: data[name] for name in form.fields if name in model_fields}
            claim = claim_create(
                actor=request.user, clinicians=data.get("clinicians") or (), **fields
            )
            obj.pk = claim.pk
            obj.refresh_from_db()
            return
        claim_change(
            claim=obj,
            actor=request.user,
            expected_version=data.get("expected_version"),
            reason="Edited in the admin",
            clinicians=data["clinicians"] if "clinicians" in form.changed_data else None,
            **{name: data[name] for name in form.changed_data if name in CLAIM_EDITABLE_FIELDS},
        )
        obj.refresh_from_db()


@admin.register(RoutingJob)
class RoutingJobAdmin(CaseworkerAdmin):
    list_display = ["pk", "kind", "agreement", "decision_date", "status", "progress", "moved"]
    list_filter = ["kind", "status"]
    list_select_related = ["agreement__organisation", "created_by"]
    readonly_fields = [f.name for f in RoutingJob._meta.fields]

    @admin.display(description="Rows done")
    def progress(self, job):
        return f"{job.rows_done} of {job.rows_total}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DeadlineChangeInline(ReadOnlyInline):
    model = DeadlineChange
    fields = ["at", "actor", "actor_label", "reason", "before", "after"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Deadline)
class DeadlineAdmin(CaseworkerAdmin):
    """Every deadline across claims, read-only: meeting and waiving happen on the claim page,
    through the services, so the claim, its deadlines and their history agree."""

    list_display = ["claim", "kind", "due_on", "status", "suspended", "remind_on"]
    list_filter = ["status", "category", "suspended"]
    search_fields = ["=claim__reference"]
    list_select_related = ["claim"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    readonly_fields = [f.name for f in Deadline._meta.fields if f.name != "id"]
    inlines = [DeadlineChangeInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(CaseworkerAdmin):
    list_display = ["created_at", "recipient", "kind", "claim", "read_at", "email_status"]
    list_filter = ["kind", "email_status"]
    search_fields = ["recipient__username", "=claim__reference"]
    list_select_related = ["recipient", "claim"]
    show_full_result_count = False
    readonly_fields = [f.name for f in Notification._meta.fields if f.name != "id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ServiceLevel)
class ServiceLevelAdmin(CaseworkerAdmin):
    """Internal service levels (domain.md §5): caseworkers keep them here, and every change is
    applied to the open claims' deadlines in the background (closed claims keep theirs)."""

    list_display = ["kind", "name", "trigger", "period", "unit", "active"]
    list_filter = ["active"]

    def get_readonly_fields(self, request, obj=None):
        # A kind names deadlines already made: renamed, they would lose their level. Switch a
        # level off, or add another, instead.
        return ["kind"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or form.has_changed():
            self._apply(request, f"Service level {obj.kind} {'changed' if change else 'added'}")

    def delete_model(self, request, obj):
        kind = obj.kind
        super().delete_model(request, obj)
        self._apply(request, f"Service level {kind} removed")

    def delete_queryset(self, request, queryset):
        kinds = ", ".join(queryset.values_list("kind", flat=True))
        with transaction.atomic():
            for obj in queryset:
                CaseworkerAdmin.delete_model(self, request, obj)
        self._apply(request, f"Service levels {kinds} removed")

    def _apply(self, request, reason: str) -> None:
        from claims.tasks import service_levels_apply_task

        transaction.on_commit(lambda: service_levels_apply_task.delay(request.user.pk, reason))
        self.message_user(
            request,
            "The open claims' deadlines are being brought in line with it in the background.",
            messages.INFO,
        )
