from django.contrib import admin
from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.api import ApiRoot, TokenObtain
from config.api_errors import api_not_found
from config.converters import ClaimReferenceConverter
from config.health import healthz

admin.site.site_header = "GP indemnity claims"
admin.site.site_title = "GP indemnity claims"
admin.site.index_title = "Caseworkers' workbench"

register_converter(ClaimReferenceConverter, "claim_reference")

api_v1 = [
    path("", ApiRoot.as_view(), name="api-root"),
    path("auth/token/", TokenObtain.as_view(), name="api-token"),
    path("", include("claims.api.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("portal/", include("handlers.portal.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", api_not_found),
]
