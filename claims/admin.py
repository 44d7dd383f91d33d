from django.contrib import admin

from claims.models import Claim, ClaimClinician, ClaimHandling
from claims.services import claim_references_allocate
from handlers.admin import CaseworkerAdmin


class ClaimClinicianInline(admin.TabularInline):
    model = ClaimClinician
    extra = 0
    autocomplete_fields = ["member"]


class ClaimHandlingInline(admin.TabularInline):
    model = ClaimHandling
    extra = 0
    can_delete = False
    readonly_fields = ["organisation"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Claim)
class ClaimAdmin(CaseworkerAdmin):
    list_display = [
        "reference",
        "claimant_name",
        "practice",
        "scheme",
        "lead_handler",
        "stage",
        "status",
        "incident_date",
        "notified_on",
    ]
    list_filter = [
        "scheme",
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
        "scheme",
        "lead_handler",
        "needs_triage",
        "version",
        "created_at",
        "updated_at",
    ]
    inlines = [ClaimClinicianInline, ClaimHandlingInline]

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
