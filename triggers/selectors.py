"""Read-only queries other apps use to find triggers."""

from django.db.models import QuerySet

from .models import Trigger


def active_triggers_for(customer_id: int, event: str) -> QuerySet[Trigger]:
    """The triggers that fire when an order of ``customer_id`` raises ``event``."""
    return Trigger.objects.filter(
        customer_id=customer_id, event=event, is_active=True, template__is_active=True
    ).select_related("template")
