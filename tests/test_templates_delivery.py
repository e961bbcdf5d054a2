"""Delivery renders with the same service, honouring the template's undefined-names setting."""

import json

import pytest

from customers.events import OrderStatus
from delivery import services
from delivery.models import DeliveryAttempt, Postback
from delivery.tasks import deliver_postback

from .factories import make_customer, make_order, make_template, make_trigger

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def unpublished(monkeypatch):
    """Keep postbacks out of the broker: these tests deliver them directly."""
    monkeypatch.setattr(deliver_postback, "apply_async", lambda *args, **kwargs: None)


@pytest.mark.parametrize(
    ("strict", "outcome", "received"),
    [
        (True, DeliveryAttempt.Outcome.PERMANENT, []),
        (False, DeliveryAttempt.Outcome.SUCCESS, [{"customer": 'Bob\'s "big"\n', "x": ""}]),
    ],
)
def test_delivery_follows_the_templates_undefined_names_setting(
    receiver, strict, outcome, received
):
    customer = make_customer(name='Bob\'s "big"\n')
    template = make_template(
        body='{"customer": "{{ customer.name }}", "x": "{{ nothing.here }}"}',
        strict_undefined=strict,
    )
    make_trigger(customer, url=receiver.url(), template=template)
    make_order(customer, status=OrderStatus.SHIPPED)

    attempt = services.deliver(Postback.objects.get().pk)

    assert attempt.outcome == outcome
    assert [json.loads(request.text()) for request in receiver.received] == received
