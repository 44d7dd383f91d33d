from django.contrib import admin

from handlers.admin import CaseworkerAdmin, CaseworkerInline
from members.models import DefenceOrganisation, Employment, Member, Membership, Practice


@admin.register(DefenceOrganisation)
class DefenceOrganisationAdmin(CaseworkerAdmin):
    list_display = ["code", "name", "kind"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]


@admin.register(Practice)
class PracticeAdmin(CaseworkerAdmin):
    list_display = ["ods_code", "name", "postcode"]
    search_fields = ["ods_code", "name", "postcode"]


class MembershipInline(CaseworkerInline):
    model = Membership
    autocomplete_fields = ["organisation"]


class EmploymentInline(CaseworkerInline):
    model = Employment
    fk_name = "member"
    autocomplete_fields = ["practice", "employer"]


@admin.register(Member)
class MemberAdmin(CaseworkerAdmin):
    list_display = ["family_name", "given_name", "registration_body", "registration_number", "role"]
    list_filter = ["registration_body", "role"]
    search_fields = ["=registration_number", "family_name", "given_name"]
    inlines = [MembershipInline, EmploymentInline]


@admin.register(Membership)
class MembershipAdmin(CaseworkerAdmin):
    list_display = ["member", "organisation", "start_date", "end_date"]
    list_filter = ["organisation"]
    search_fields = ["=member__registration_number", "member__family_name"]
    list_select_related = ["member", "organisation"]
    autocomplete_fields = ["member", "organisation"]
    date_hierarchy = "start_date"


@admin.register(Employment)
class EmploymentAdmin(CaseworkerAdmin):
    list_display = ["member", "practice", "employer", "start_date", "end_date"]
    search_fields = ["=member__registration_number", "member__family_name", "=practice__ods_code"]
    list_select_related = ["member", "practice", "employer"]
    autocomplete_fields = ["member", "practice", "employer"]
