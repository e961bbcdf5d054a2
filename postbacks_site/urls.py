from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from rest_framework.routers import DefaultRouter

from customers.api import CustomerViewSet, OrderViewSet
from delivery.api import PostbackViewSet
from delivery.views import metrics

from .health import healthz, readyz

router = DefaultRouter()
router.register("customers", CustomerViewSet)
router.register("orders", OrderViewSet)
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
    path("api/", include(router.urls)),
    path("api/auth/", include("rest_framework.urls")),
]
