from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = "Claims"


class WorkbenchAdminConfig(admin_apps.AdminConfig):
    """Stands in INSTALLED_APPS for django.contrib.admin, so that `admin.site` is the
    caseworkers' workbench site (claims/admin_site.py)."""

    default = False
    default_site = "claims.admin_site.WorkbenchSite"
