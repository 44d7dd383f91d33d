from django.urls import path

from claims.api.agreements import (
    AgreementApply,
    AgreementDetail,
    AgreementList,
    AgreementPreview,
    RoutingJobDetail,
)
from claims.api.claims import ClaimDetail, ClaimList
from claims.api.deadlines import ClaimDeadlineDetail, DeadlineList
from claims.api.imports import ImportBatchDetail, ImportBatchList, import_view
from claims.api.notifications import NotificationList, NotificationRead
from claims.api.routing import RoutingPreview
from claims.models import ImportBatch

urlpatterns = [
    path("routing/preview/", RoutingPreview.as_view(), name="api-routing-preview"),
    path("routing/jobs/<int:pk>/", RoutingJobDetail.as_view(), name="api-routing-job"),
    path("agreements/", AgreementList.as_view(), name="api-agreements"),
    path("agreements/<int:pk>/", AgreementDetail.as_view(), name="api-agreement"),
    path("agreements/<int:pk>/preview/", AgreementPreview.as_view(), name="api-agreement-preview"),
    path("agreements/<int:pk>/apply/", AgreementApply.as_view(), name="api-agreement-apply"),
    path("imports/batches/", ImportBatchList.as_view(), name="api-import-batches"),
    path("imports/batches/<int:pk>/", ImportBatchDetail.as_view(), name="api-import-batch"),
    *(
        path(f"imports/{kind}/", import_view(kind).as_view(), name=f"api-import-{kind}")
        for kind in ImportBatch.Kind.values
    ),
    path("deadlines/", DeadlineList.as_view(), name="api-deadlines"),
    path("notifications/", NotificationList.as_view(), name="api-notifications"),
    path("notifications/<int:pk>/read/", NotificationRead.as_view(), name="api-notification-read"),
    path("claims/", ClaimList.as_view(), name="api-claims"),
    path("claims/<claim_reference:reference>/", ClaimDetail.as_view(), name="api-claim"),
    path(
        "claims/<claim_reference:reference>/deadlines/<int:pk>/",
        ClaimDeadlineDetail.as_view(),
        name="api-claim-deadline",
    ),
]
