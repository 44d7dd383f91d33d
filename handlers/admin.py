from axes.models import AccessAttempt, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from audit.services import audit_diff, audit_record, audit_snapshot
from handlers.models import Handler, HandlerOrganisation
from handlers.permissions import is_auditor, is_caseworker


class CaseworkerAdmin(admin.ModelAdmin):
    """Admin access by role (design.md §2): caseworkers do everything, auditors only look, and
    nobody else gets in, whatever Django model permissions they hold. Every save and delete made
    here writes the audit trail in the same transaction."""

    list_per_page = 50

    def has_module_permission(self, request):
        return is_caseworker(request.user) or is_auditor(request.user)

    def has_view_permission(self, request, obj=None):
        return is_caseworker(request.user) or is_auditor(request.user)

    def has_add_permission(self, request):
        return is_caseworker(request.user)

    def has_change_permission(self, request, obj=None):
        return is_caseworker(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_caseworker(request.user)

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            before = audit_snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
            super().save_model(request, obj, form, change)
            after = audit_snapshot(obj)
            if before is not None:
                before, after = audit_diff(before, after)
            audit_record(
                actor=request.user,
                action=f"{obj._meta.model_name}.{'change' if change else 'create'}",
                subject=obj,
                before=before,
                after=after,
                reason="Edited in the admin",
            )

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit_record(
                actor=request.user,
                action=f"{obj._meta.model_name}.delete",
                subject=obj,
                before=audit_snapshot(obj),
                reason="Deleted in the admin",
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)


class CaseworkerInline(admin.TabularInline):
    """Inlines follow the same role rules as their page (Django's default asks for model
    permissions, which roles do not use)."""

    extra = 0

    def has_view_permission(self, request, obj=None):
        return is_caseworker(request.user) or is_auditor(request.user)

    def has_add_permission(self, request, obj=None):
        return is_caseworker(request.user)

    def has_change_permission(self, request, obj=None):
        return is_caseworker(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_caseworker(request.user)


@admin.register(HandlerOrganisation)
class HandlerOrganisationAdmin(CaseworkerAdmin):
    list_display = ["code", "name", "defence_organisation"]
    search_fields = ["code", "name"]


@admin.register(Handler)
class HandlerAdmin(CaseworkerAdmin):
    list_display = ["user", "organisation", "role"]
    list_filter = ["organisation", "role"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    list_select_related = ["user", "organisation"]
    autocomplete_fields = ["user"]


class AccountAdmin(CaseworkerAdmin, UserAdmin):
    """Accounts are managed by caseworkers, by role rather than by Django model permission.
    They are deactivated (Active unticked), never deleted: the audit trail, routing decisions
    and deadline histories name who acted, and keep naming them (docs/decisions.md)."""

    list_display = ["username", "email", "first_name", "last_name", "is_active", "is_staff"]

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), AccountAdmin)


class ApiTokenAdmin(CaseworkerAdmin, TokenAdmin):
    """API tokens are credentials: caseworkers manage them, and not even auditors read them."""

    def has_module_permission(self, request):
        return is_caseworker(request.user)

    def has_view_permission(self, request, obj=None):
        return is_caseworker(request.user)


admin.site.unregister(TokenProxy)
admin.site.register(TokenProxy, ApiTokenAdmin)
# Access is by role (handlers.Handler), not by Django groups.
admin.site.unregister(Group)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(CaseworkerAdmin):
    """Failed sign-ins by username (django-axes). A caseworker lifts a lockout by deleting the
    row; the deletion is audited."""

    list_display = ["username", "failures_since_start", "attempt_time", "ip_address", "path_info"]
    search_fields = ["username"]
    readonly_fields = [f.name for f in AccessAttempt._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AccessLog)
class AccessLogAdmin(CaseworkerAdmin):
    """Sign-ins and sign-outs (django-axes), read-only for everyone."""

    list_display = ["username", "attempt_time", "logout_time", "ip_address", "path_info"]
    search_fields = ["username"]
    date_hierarchy = "attempt_time"
    show_full_result_count = False
    readonly_fields = [f.name for f in AccessLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
