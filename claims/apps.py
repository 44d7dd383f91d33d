from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = "Claims"

    def ready(self):
        from members.signals import cover_changed

        # A membership or employment changed: re-route the open claims that read it. The rule
        # is the service's; this only connects members' announcement to it (members may not
        # import claims).
        cover_changed.connect(
            _claims_of_members_reroute, dispatch_uid="claims_of_members_reroute", weak=False
        )


def _claims_of_members_reroute(sender, *, member_ids, actor, cause, **kwargs) -> None:
    from claims.routing_services import claims_of_members_reroute

    claims_of_members_reroute(member_ids=member_ids, actor=actor, cause=cause)


class WorkbenchAdminConfig(admin_apps.AdminConfig):
    """Stands in INSTALLED_APPS for django.contrib.admin, so that `admin.site` is the
    caseworkers' workbench site (claims/admin_site.py)."""

    default = False
    default_site = "claims.admin_site.WorkbenchSite"
