"""Changing orders, for callers that are not a ModelForm (API, demo data, scripts)."""

from .models import Order


def change_order_status(order: Order, status: str) -> Order:
    """Set ``order``'s status; saving raises the status event when the status changed.

    Raises ``ValidationError`` for a status that does not exist, before anything is written.
    """
    order.status = status
    order.full_clean()
    order.save()
    return order
