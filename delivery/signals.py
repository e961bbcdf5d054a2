from django.dispatch import receiver

from customers.signals import order_status_changed

from . import services


@receiver(order_status_changed, dispatch_uid="delivery.create_postbacks")
def _create_postbacks(sender, order, event, **kwargs) -> None:
    services.create_postbacks(order, event)
