"""Demo data for the embedded default: a customer, a template, a trigger and an order."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from customers.events import Event, OrderStatus
from customers.models import Customer, Order
from templates_app.models import LookupEntry, LookupTable, Template
from triggers.models import Trigger

DEMO_RECEIVER_PORT = 8001
DEMO_ORDER_REFERENCE = "DEMO-1001"

# The documentation's example template for "order shipped", with a lookup for the carrier.
DEMO_TEMPLATE = """{
  "event": "Order shipped",
  "orderId": "{{ orderId }}",
  "orderReferenceId": "{{ orderReferenceId }}",
  "timestamp": "{{ created }}",
  "status": "{{ fulfillmentStatus }}",
  "trackingInfo": {
  {%- for item in items %}{% for fulfillment in item.fulfillments %}
    "trackingCode": "{{ fulfillment.trackingCode }}",
    "trackingUrl": "{{ fulfillment.trackingUrl }}",
    "carrier": "{{ lookups({"shipmentMethodUid": fulfillment.carrierUid}, strict=False,
                            default=fulfillment.carrierName) }}"
  {%- endfor %}{% endfor %}
  }
}
"""

DEMO_ORDER_DATA = {
    "items": [
        {
            "referenceId": "poster-a2",
            "quantity": 2,
            "metadata": {"sku": "POSTER-A2-MATTE"},
            "fulfillments": [
                {
                    "trackingCode": "1Z999AA10123456784",
                    "trackingUrl": "https://tracking.example.com/1Z999AA10123456784",
                    "carrierName": "UPS",
                    "carrierUid": "ups_standard",
                }
            ],
        }
    ],
    "shippingAddress": {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "addressLine1": "12 Analytical Row",
        "city": "London",
        "postCode": "N1 9GU",
        "country": "GB",
    },
}


@transaction.atomic
def seed_demo(receiver_url: str) -> Order:
    """Create the demo objects if they are missing; returns the demo order. Idempotent."""
    customer, _ = Customer.objects.get_or_create(
        reference_id="demo-prints",
        defaults={"name": "Demo Prints Ltd", "contact_email": "orders@demo-prints.example"},
    )
    template, _ = Template.objects.get_or_create(
        name="Order shipped (JSON)",
        defaults={
            "kind": Template.Kind.WEBHOOK,
            "format": Template.Format.JSON,
            "body": DEMO_TEMPLATE,
        },
    )
    table, _ = LookupTable.objects.get_or_create(
        customer=customer,
        template_field="shipmentMethodUid",
        defaults={"name": "Carriers"},
    )
    LookupEntry.objects.get_or_create(
        table=table, key="ups_standard", defaults={"value": "UPS Standard"}
    )
    Trigger.objects.get_or_create(
        customer=customer,
        name="Shipped orders to the demo receiver",
        defaults={"event": Event.ORDER_SHIPPED, "template": template, "url": receiver_url},
    )
    order, _ = Order.objects.get_or_create(
        customer=customer,
        reference_id=DEMO_ORDER_REFERENCE,
        defaults={"status": OrderStatus.PRODUCED, "data": DEMO_ORDER_DATA},
    )
    return order


def ensure_demo_superuser() -> bool:
    """Create admin/admin when there is no superuser at all; True if it did."""
    User = get_user_model()
    if User.objects.filter(is_superuser=True).exists():
        return False
    User.objects.create_superuser("admin", "admin@localhost", "admin")
    return True
