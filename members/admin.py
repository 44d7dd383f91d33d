from django.contrib import admin
from django.db import transaction

from handlers.admin import CaseworkerAdmin, CaseworkerInline
from members.models import DefenceOrganisation, Employment, Member, Membership, Practice
from members.services import member_cover_changed


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

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Memberships and employments edited on the member's page: announced like any other
        # change of cover (CoverAdmin), once for the page.
        if any(f.has_changed() for f in formsets if f.model in (Membership, Employment)):
            member_cover_changed(
                member_ids=[form.instance.pk],
                actor=request.user,
                cause=f"Memberships or employments of {form.instance.key} edited in the admin",
            )


class CoverAdmin(CaseworkerAdmin):
    """Memberships and employments decide a clinician's effective MDO (domain.md §4): every save
    and delete here is announced (members.services.member_cover_changed), so that the open
    claims that read it are re-routed in the same transaction. A record moved to another member
    is announced for both."""

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            before = (
                type(obj).objects.filter(pk=obj.pk).values_list("member_id", flat=True).first()
                if change
                else None
            )
            super().save_model(request, obj, form, change)
            member_cover_changed(
                member_ids=[m for m in (obj.member_id, before) if m is not None],
                actor=request.user,
                cause=f"{obj._meta.verbose_name.capitalize()} "
                f"{'changed' if change else 'added'} in the admin: {obj}",
            )

    def delete_model(self, request, obj):
        with transaction.atomic():
            text = str(obj)
            super().delete_model(request, obj)
            member_cover_changed(
                member_ids=[obj.member_id],
                actor=request.user,
                cause=f"{obj._meta.verbose_name.capitalize()} deleted in the admin: {text}",
            )


@admin.register(Membership)
class MembershipAdmin(CoverAdmin):
    list_display = ["member", "organisation", "start_date", "end_date"]
    list_filter = ["organisation"]
    search_fields = ["=member__registration_number", "member__family_name"]
    list_select_related = ["member", "organisation"]
    autocomplete_fields = ["member", "organisation"]
    date_hierarchy = "start_date"


@admin.register(Employment)
class EmploymentAdmin(CoverAdmin):
    list_display = ["member", "practice", "employer", "start_date", "end_date"]
    search_fields = ["=member__registration_number", "member__family_name", "=practice__ods_code"]
    list_select_related = ["member", "practice", "employer"]
    autocomplete_fields = ["member", "practice", "employer"]
