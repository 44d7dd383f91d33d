from django.contrib import admin

from audit.models import AuditEvent
from handlers.permissions import is_auditor, is_caseworker


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The trail is read-only for everyone, caseworkers included: history is never rewritten."""

    list_display = ["at", "actor", "actor_label", "action", "subject_type", "subject_repr"]
    list_filter = ["action", "subject_type"]
    search_fields = ["=subject_id", "subject_repr", "actor__username", "actor_label"]
    list_select_related = ["actor"]
    date_hierarchy = "at"
    show_full_result_count = False
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_module_permission(self, request):
        return is_caseworker(request.user) or is_auditor(request.user)

    def has_view_permission(self, request, obj=None):
        return is_caseworker(request.user) or is_auditor(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
