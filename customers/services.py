"""Changing orders, for callers that are not a ModelForm (API, demo data, scripts)."""

from .models import Order


def change_order_status(order: Order, status: str) -> Order:
    """Set ``order``'s status; saving raises the status event when the status changed.

    Raises ``ValidationError`` for a status that does not exist, before anything is written.
    Only the status is validated: it is the only field this changes.
    """
    order.status = status
    order.clean_fields(exclude=[f.name for f in Order._meta.fields if f.name != "status"])
    order.save()
    return order
