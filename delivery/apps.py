from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery log"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the receivers)
        from .schedules import ensure_periodic_tasks

        post_migrate.connect(ensure_periodic_tasks, sender=self, dispatch_uid="delivery.schedules")
