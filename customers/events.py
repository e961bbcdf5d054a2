"""The events a trigger can fire on, and the data each event carries.

Event keys and field names follow GelatoConnect's postback documentation, so that templates
integrators paste from it work unchanged (see ``shared/reference/events.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from .models import Order


class Event(models.TextChoices):
    ORDER_RECEIVED = "order_received", "Order received"
    ORDER_FAILED = "order_failed", "Order failed"
    ORDER_CANCELED = "order_canceled", "Order canceled"
    ORDER_RETURNED = "order_returned", "Order returned"
    ORDER_PRODUCED = "order_produced", "Order produced"
    ORDER_SHIPPED = "order_shipped", "Order shipped"
    ORDER_IN_TRANSIT = "order_in_transit", "Order in transit"
    ORDER_DELIVERED = "order_delivered", "Order delivered"
    PACKAGE_STATUS_UPDATED = "package_status_updated", "Package status updated"
    DELAYED_ORDER = "delayed_order", "Delayed order"


class OrderStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"
    RETURNED = "returned", "Returned"
    PRODUCED = "produced", "Produced (printed and packaged)"
    SHIPPED = "shipped", "Shipped"
    IN_TRANSIT = "in_transit", "In transit"
    DELIVERED = "delivered", "Delivered"


EVENT_FOR_STATUS: dict[str, Event] = {
    OrderStatus.RECEIVED: Event.ORDER_RECEIVED,
    OrderStatus.FAILED: Event.ORDER_FAILED,
    OrderStatus.CANCELED: Event.ORDER_CANCELED,
    OrderStatus.RETURNED: Event.ORDER_RETURNED,
    OrderStatus.PRODUCED: Event.ORDER_PRODUCED,
    OrderStatus.SHIPPED: Event.ORDER_SHIPPED,
    OrderStatus.IN_TRANSIT: Event.ORDER_IN_TRANSIT,
    OrderStatus.DELIVERED: Event.ORDER_DELIVERED,
}


def event_for_status(status: str) -> Event:
    return EVENT_FOR_STATUS[status]


def order_event_data(order: Order, event: str) -> dict[str, Any]:
    """The data a template sees for ``event`` on ``order``.

    The order's own JSON (items with their fulfillments, shipment, addresses, metadata) is kept
    as it is; the identity and status fields are set from the database so a template can
    always rely on them. The result is snapshotted on the postback, so a retry days later
    sends what was true when the event happened.
    """
    customer = order.customer
    data = dict(order.data or {})
    data.update(
        {
            "event": event,
            "orderId": str(order.public_id),
            "orderReferenceId": order.reference_id,
            "customerId": str(customer.public_id),
            "customerReferenceId": customer.reference_id,
            "customer": {
                "id": str(customer.public_id),
                "name": customer.name,
                "referenceId": customer.reference_id,
                "email": customer.contact_email,
            },
            "created": order.created_at.isoformat(),
            "updated": order.updated_at.isoformat(),
            "fulfillmentStatus": order.status,
        }
    )
    return data
