from django.contrib import admin

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
