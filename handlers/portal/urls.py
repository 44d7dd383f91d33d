"""/portal/ (design.md §3.6)."""

from django.urls import path

from handlers.portal import views

app_name = "portal"

claim = "claims/<claim_reference:reference>/"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.PortalLogin.as_view(), name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("password/", views.password_change, name="password_change"),
    path("claims/", views.claims_list, name="claims"),
    path(claim, views.claim_detail, name="claim"),
    path(f"{claim}stage/", views.claim_stage, name="claim_stage"),
    path(f"{claim}description/", views.claim_description, name="claim_description"),
    path(f"{claim}dates/", views.claim_dates, name="claim_dates"),
    path(f"{claim}deadlines/<int:deadline_id>/met/", views.deadline_met, name="deadline_met"),
    path(f"{claim}notes/", views.claim_note, name="claim_note"),
    path(f"{claim}reserves/", views.claim_reserve, name="claim_reserve"),
    path(f"{claim}payments/", views.claim_payment, name="claim_payment"),
    path(f"{claim}assign/", views.claim_assignment, name="claim_assign"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
]
