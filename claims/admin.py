from django.contrib import admin
from django.utils.html import format_html_join

from claims.models import (
    Claim,
    ClaimClinician,
    ClaimHandling,
    ClaimSegment,
    Deadline,
    DeadlineChange,
    Notification,
    RoutingDecision,
    RoutingJob,
)
from claims.services import claim_references_allocate
from handlers.admin import CaseworkerAdmin, CaseworkerInline
from schemes.models import Scheme


class ClaimClinicianInline(CaseworkerInline):
    model = ClaimClinician
    autocomplete_fields = ["member"]


class ClaimHandlingInline(CaseworkerInline):
    """Who can see the claim follows from its routing; it is not edited by hand."""

    model = ClaimHandling
    can_delete = False
    readonly_fields = ["organisation"]
    verbose_name_plural = "Organisations handling a part (who can see this claim)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyInline(CaseworkerInline):
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ClaimSegmentInline(ReadOnlyInline):
    model = ClaimSegment
    fields = ["position", "clinician", "start_date", "end_date", "scheme", "handler"]
    readonly_fields = fields
    verbose_name_plural = "Routing segments (current decision)"


class RoutingDecisionInline(ReadOnlyInline):
    model = RoutingDecision
    fields = ["decided_at", "decision_date", "schemes", "lead_handler", "cause", "reasons_text"]
    readonly_fields = fields
    verbose_name_plural = "Routing history (why the claim is where it is)"

    @admin.display(description="Reasons")
    def reasons_text(self, decision):
        return format_html_join(
            "", "<div>{}</div>", ((reason,) for reason in decision.outcome.get("reasons", []))
        )


class SchemeFilter(admin.SimpleListFilter):
    """Matches any segment of the current decision (design.md §3.3), through an indexed table."""

    title = "scheme"
    parameter_name = "scheme"

    def lookups(self, request, model_admin):
        return [(code, code) for code in Scheme.objects.values_list("code", flat=True)]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(
                pk__in=ClaimSegment.objects.filter(scheme=self.value()).values("claim_id")
            )
        return queryset


@admin.register(Claim)
class ClaimAdmin(CaseworkerAdmin):
    list_display = [
        "reference",
        "claimant_name",
        "practice",
        "schemes",
        "lead_handler",
        "stage",
        "status",
        "incident_date",
        "notified_on",
    ]
    list_filter = [
        SchemeFilter,
        "lead_handler",
        "stage",
        "status",
        "needs_triage",
        "care_setting",
        "matter_type",
    ]
    search_fields = [
        "=reference",
        "=external_ref",
        "=claimant_nhs_number",
        "claimant_name",
        "=practice__ods_code",
    ]
    list_select_related = ["practice"]
    date_hierarchy = "notified_on"
    # A million claims: never COUNT(*) the whole table to print "x of y".
    show_full_result_count = False
    autocomplete_fields = ["practice", "source_organisation", "assigned_to"]
    readonly_fields = [
        "reference",
        "schemes",
        "lead_handler",
        "flags",
        "needs_triage",
        "version",
        "created_at",
        "updated_at",
    ]
    inlines = [
        ClaimClinicianInline,
        ClaimSegmentInline,
        RoutingDecisionInline,
        ClaimHandlingInline,
    ]

    def get_search_results(self, request, queryset, search_term):
        # People type NHS numbers with spaces (943 476 5919); the column holds bare digits.
        digits = "".join(search_term.split())
        if digits.isdigit() and len(digits) == 10:
            search_term = digits
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request, obj, form, change):
        if change:
            obj.version += 1
        else:
            obj.reference = claim_references_allocate(count=1)[0]
        super().save_model(request, obj, form, change)


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


@admin.register(Deadline)
class DeadlineAdmin(CaseworkerAdmin):
    list_display = ["claim", "kind", "due_on", "status", "suspended", "remind_on"]
    list_filter = ["status", "kind", "category", "suspended"]
    search_fields = ["=claim__reference"]
    list_select_related = ["claim"]
    date_hierarchy = "due_on"
    show_full_result_count = False
    readonly_fields = [f.name for f in Deadline._meta.fields if f.name != "id"]
    inlines = [DeadlineChangeInline]

    def has_add_permission(self, request):
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
