from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from customers.api import CustomerViewSet, OrderViewSet
from delivery.api import PostbackViewSet, SendTestEmailView, WorkspaceSettingsView
from delivery.views import metrics
from templates_app.api import LookupEntryViewSet, LookupTableViewSet, TemplateViewSet
from triggers.api import TriggerViewSet

from .health import healthz, readyz

router = DefaultRouter()
router.include_format_suffixes = False  # one URL per resource, in the schema and in use
router.register("customers", CustomerViewSet)
router.register("orders", OrderViewSet)
router.register("templates", TemplateViewSet)
router.register("lookup-tables", LookupTableViewSet)
router.register("lookup-entries", LookupEntryViewSet)
router.register("triggers", TriggerViewSet)
router.register("postbacks", PostbackViewSet)

admin.site.site_header = "Postbacks"
admin.site.site_title = "Postbacks"
admin.site.index_title = "Order status notifications"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/workspace-settings/", WorkspaceSettingsView.as_view(), name="workspace-settings"),
    path(
        "api/workspace-settings/send-test-email/",
        SendTestEmailView.as_view(),
        name="workspace-settings-send-test-email",
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include(router.urls)),
    path("api/auth/", include("rest_framework.urls")),
]
