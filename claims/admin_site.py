"""The caseworkers' admin site (design.md §3.6: `/admin/`, whose index is their dashboard).

Who gets in is decided by role, not by Django's `is_staff` flag: NHS Resolution caseworkers (and
their team leads) and auditors; an MDO claim handler, an importer or anyone else is refused at
the sign-in form and on every page. claims.apps.WorkbenchAdminConfig makes it `admin.site`."""

import functools

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import BadRequest, ValidationError

# How long the dashboard's figures are reused: a few aggregate scans over a million claims are
# worth doing once a minute, not on every visit to the index.
DASHBOARD_SECONDS = 60


class WorkbenchLoginForm(AdminAuthenticationForm):
    """The admin's sign-in: a correct password is not enough, the account must be a
    caseworker's or an auditor's. The message is the same as for a wrong password, so the form
    does not tell anyone which passwords are right."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": (
            "Please enter the username and password of an NHS Resolution caseworker or auditor "
            "account. MDO claim handlers sign in to the portal instead."
        ),
    }

    def confirm_login_allowed(self, user):
        from handlers.permissions import is_auditor, is_caseworker

        if not user.is_active or not (is_caseworker(user) or is_auditor(user)):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class WorkbenchSite(admin.AdminSite):
    site_header = "GP indemnity claims"
    site_title = "GP indemnity claims"
    index_title = "Caseworkers' workbench"
    index_template = "admin/workbench/index.html"
    login_form = WorkbenchLoginForm
    # The claim list needs the width; the dashboard links to every list.
    enable_nav_sidebar = False

    def has_permission(self, request):
        from handlers.permissions import is_auditor, is_caseworker

        user = request.user
        return user.is_active and (is_caseworker(user) or is_auditor(user))

    def admin_view(self, view, cacheable=False):
        guarded = super().admin_view(view, cacheable)

        @functools.wraps(guarded)
        def refusing_nul(request, *args, **kwargs):
            # The lists' filters hand their parameters to the database as they come, and
            # PostgreSQL can hold no NUL character: a link carrying one is refused here (400)
            # instead of failing in the query (500).
            if any(
                "\x00" in key or "\x00" in "".join(values) for key, values in request.GET.lists()
            ):
                raise BadRequest("A NUL character in the address's parameters.")
            return guarded(request, *args, **kwargs)

        return refusing_nul

    def index(self, request, extra_context=None):
        from django.core.cache import cache

        from claims.selectors import dashboard_figures

        figures = cache.get("admin-dashboard")
        if figures is None:
            figures = dashboard_figures()
            cache.set("admin-dashboard", figures, DASHBOARD_SECONDS)
        context = {"dashboard": figures, "dashboard_seconds": DASHBOARD_SECONDS}
        return super().index(request, {**context, **(extra_context or {})})
