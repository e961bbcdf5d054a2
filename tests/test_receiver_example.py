"""The receiver example in docs/ works against a real delivery."""

import importlib.util
import threading
from pathlib import Path

import pytest
from django.conf import settings

from customers.events import OrderStatus
from delivery import services
from delivery.models import DeliveryAttempt, Postback
from delivery.tasks import deliver_postback

from .factories import make_customer, make_order, make_trigger

pytestmark = pytest.mark.django_db


def load_example():
    path = Path(settings.BASE_DIR, "docs", "examples", "webhook_receiver.py")
    spec = importlib.util.spec_from_file_location("webhook_receiver", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_documented_receiver_verifies_a_real_delivery(monkeypatch):
    monkeypatch.setattr(deliver_postback, "apply_async", lambda *args, **kwargs: None)
    example = load_example()
    customer = make_customer()
    trigger = make_trigger(customer, url="http://127.0.0.1:1/")  # URL set below
    events = []
    server = example.make_server(trigger.signing_secret, lambda i, d: events.append((i, d)), port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        trigger.url = f"http://127.0.0.1:{server.server_address[1]}/postbacks"
        trigger.save()
        make_order(customer, status=OrderStatus.SHIPPED)
        postback = Postback.objects.get()

        first = services.deliver(postback.pk)
        resent = services.deliver(postback.pk, manual=True)
    finally:
        server.shutdown()
        server.server_close()

    assert first.outcome == resent.outcome == DeliveryAttempt.Outcome.SUCCESS
    assert first.response_status == 204
    # Verified, and the resend of the same webhook-id was recognised as a repeat.
    ((webhook_id, data),) = events
    assert webhook_id == f"msg_{postback.public_id.hex}"
    assert data["status"] == "shipped" and data["orderReferenceId"] == postback.order_reference


def test_the_documented_verify_refuses_tampering_and_replays():
    example = load_example()
    from delivery.signing import new_secret, sign

    secret = new_secret()
    headers = {"webhook-id": "msg_1", "webhook-timestamp": "1700000000"}
    headers["webhook-signature"] = sign([secret], "msg_1", 1700000000, b'{"a":1}')

    example.verify(secret, headers, b'{"a":1}', now=1700000010)
    with pytest.raises(example.InvalidSignature):
        example.verify(secret, headers, b'{"a":2}', now=1700000010)
    with pytest.raises(example.InvalidSignature):
        example.verify(secret, headers, b'{"a":1}', now=1700000000 + 3600)
    with pytest.raises(example.InvalidSignature):
        example.verify(new_secret(), headers, b'{"a":1}', now=1700000010)
