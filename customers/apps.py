from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers and orders"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the receivers)
