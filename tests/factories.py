"""Small builders for the objects tests need, with sensible defaults."""

from itertools import count

from customers.events import Event, OrderStatus
from customers.models import Customer, Order
from delivery.models import WorkspaceSettings
from templates_app.models import Template
from triggers.models import Trigger

_numbers = count(1)

SHIPPED_TEMPLATE = (
    '{"event": "{{ event }}", "orderReferenceId": "{{ orderReferenceId }}", '
    '"status": "{{ fulfillmentStatus }}", "tracking": ['
    "{% for item in items %}{% for f in item.fulfillments %}"
    '"{{ f.trackingCode }}"{{ "," if not loop.last }}'
    "{% endfor %}{% endfor %}]}"
)

ORDER_DATA = {
    "items": [
        {
            "referenceId": "poster-a2",
            "quantity": 1,
            "fulfillments": [
                {
                    "trackingCode": "TRACK-1",
                    "trackingUrl": "https://tracking.example.com/TRACK-1",
                    "carrierName": "UPS",
                    "carrierUid": "ups_standard",
                }
            ],
        }
    ]
}


def make_customer(**fields) -> Customer:
    number = next(_numbers)
    fields.setdefault("name", f"Customer {number}")
    fields.setdefault("reference_id", f"customer-{number}")
    return Customer.objects.create(**fields)


def make_template(**fields) -> Template:
    fields.setdefault("name", f"Template {next(_numbers)}")
    fields.setdefault("body", SHIPPED_TEMPLATE)
    return Template.objects.create(**fields)


def make_trigger(customer: Customer, url: str = "", **fields) -> Trigger:
    fields.setdefault("name", f"Trigger {next(_numbers)}")
    fields.setdefault("event", Event.ORDER_SHIPPED)
    if "template" not in fields:
        fields["template"] = make_template()
    return Trigger.objects.create(customer=customer, url=url, **fields)


def make_order(customer: Customer, status: str = OrderStatus.PRODUCED, **fields) -> Order:
    fields.setdefault("reference_id", f"ORDER-{next(_numbers)}")
    fields.setdefault("data", ORDER_DATA)
    return Order.objects.create(customer=customer, status=status, **fields)


def use_mail_server(port: int, security: str = "none", **fields) -> WorkspaceSettings:
    """Point the workspace's email settings at a test mail server on 127.0.0.1."""
    workspace = WorkspaceSettings.load()
    fields.setdefault("sender_email", "orders@psp.example")
    fields.setdefault("sender_name", "PSP Orders")
    for name, value in {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": security,
        **fields,
    }.items():
        setattr(workspace, name, value)
    workspace.full_clean()
    workspace.save()
    return workspace


def shipped_postback(url: str, **trigger_fields):  # type: ignore[no-untyped-def]
    """The one postback of a new customer's order created shipped, with a trigger to ``url``."""
    from delivery.models import Postback

    customer = make_customer()
    make_trigger(customer, url=url, **trigger_fields)
    make_order(customer, status=OrderStatus.SHIPPED)
    return Postback.objects.select_related("trigger").get()
