"""Turns a saved status change into an ``order_status_changed`` signal.

Other apps listen to ``order_status_changed`` rather than to Order's post_save, so the rule
"what counts as a status change" lives here, once, whoever saves the order (admin, API, code).
"""

from django.db.models.signals import post_save
from django.dispatch import Signal, receiver

from .events import event_for_status
from .models import Order

# Sent inside the saving transaction with: order, previous_status (None for a new order), event.
order_status_changed = Signal()


@receiver(post_save, sender=Order, dispatch_uid="customers.order_status_changed")
def _announce_status_change(sender, instance: Order, created: bool, raw: bool, **kwargs) -> None:
    if raw:  # loading fixtures is not an event
        return
    previous = instance.status_at_load
    if previous == instance.status:
        return
    instance.status_at_load = instance.status
    order_status_changed.send(
        sender=Order,
        order=instance,
        previous_status=previous,
        event=event_for_status(instance.status),
    )
