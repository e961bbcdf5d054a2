"""Read-only queries other apps use to find triggers."""

from django.db.models import QuerySet

from .models import Trigger


def triggers_for_event(customer_id: int, event: str) -> QuerySet[Trigger]:
    """Every trigger, active or not, of ``customer_id`` for ``event``.

    Inactive ones are included so the delivery log can keep what they would have sent.
    """
    return Trigger.objects.filter(customer_id=customer_id, event=event).select_related("template")


def is_live(trigger: Trigger) -> bool:
    """Whether the trigger sends now: it and its template are both active."""
    return trigger.is_active and trigger.template.is_active
