from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from handlers.admin import CaseworkerAdmin
from schemes.models import ElsAgreement, Scheme


@admin.register(Scheme)
class SchemeAdmin(CaseworkerAdmin):
    list_display = ["code", "name", "is_state_scheme", "source"]
    list_filter = ["is_state_scheme"]
    search_fields = ["code", "name"]


@admin.register(ElsAgreement)
class ElsAgreementAdmin(CaseworkerAdmin):
    list_display = ["organisation", "agreed_on", "handover_on", "notes"]
    list_filter = ["organisation"]
    list_select_related = ["organisation"]
    actions = ["reroute_claims"]

    @admin.action(description="Preview and apply re-routing of affected open claims")
    def reroute_claims(self, request, queryset):
        # Imported here: schemes sits below claims, and only this admin page needs the claims side.
        from claims.models import RoutingJob
        from claims.routing_services import agreement_moves_preview, routing_job_start

        if not self.has_change_permission(request):
            self.message_user(request, "Only caseworkers may re-route claims.", messages.ERROR)
            return None
        agreements = list(queryset.select_related("organisation"))
        if request.POST.get("confirm") == "apply":
            for agreement in agreements:
                job = routing_job_start(
                    kind=RoutingJob.Kind.AGREEMENT, actor=request.user, agreement=agreement
                )
                url = reverse("admin:claims_routingjob_change", args=[job.pk])
                self.message_user(
                    request,
                    f"Re-routing for {agreement} started as job {job.pk}: {url}",
                    messages.SUCCESS,
                )
            return None
        today = timezone.localdate()
        previews = [
            (agreement, agreement_moves_preview(agreement=agreement, decision_date=today))
            for agreement in agreements
        ]
        return TemplateResponse(
            request,
            "admin/schemes/elsagreement/reroute_preview.html",
            {
                **self.admin_site.each_context(request),
                "title": "Re-route claims for these agreements?",
                "previews": previews,
                "queryset": queryset,
                "decision_date": today,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )
