"""The whole path, for real: a status change, a Celery worker, an HTTP receiver on loopback."""

import json
import time

import pytest
from django.db import transaction

from customers.events import OrderStatus
from customers.services import change_order_status
from delivery.models import DeliveryAttempt, Postback
from delivery.receiver import Reply

from .factories import make_customer, make_order, make_trigger
from .waiting import postback_settled, wait_until

pytestmark = pytest.mark.e2e


def test_status_change_is_delivered_and_logged(celery_worker, receiver):
    customer = make_customer(name="Acme Prints")
    trigger = make_trigger(customer, url=receiver.url("/hooks/acme"))
    order = make_order(customer, reference_id="PO-123")

    change_order_status(order, OrderStatus.SHIPPED)

    (request,) = receiver.wait_for(1)
    assert request.method == "POST"
    assert request.path == "/hooks/acme"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"].startswith("msg_")
    assert json.loads(request.body) == {
        "event": "order_shipped",
        "orderReferenceId": "PO-123",
        "status": "shipped",
        "tracking": ["TRACK-1"],
    }
    postback = Postback.objects.get(trigger=trigger)
    wait_until(lambda: postback_settled(postback))
    assert postback.status == Postback.Status.DELIVERED
    assert postback.attempt_count == 1
    assert postback.order == order and postback.event == "order_shipped"
    (attempt,) = postback.attempts.all()
    assert attempt.outcome == DeliveryAttempt.Outcome.SUCCESS
    assert attempt.response_status == 200
    assert attempt.destination == receiver.url("/hooks/acme")
    assert attempt.request_method == "POST"
    assert json.loads(attempt.request_body) == json.loads(request.body)
    assert attempt.request_headers["webhook-id"] == request.headers["webhook-id"]
    assert attempt.response_body == "ok"


def test_rolled_back_status_change_sends_nothing(celery_worker, receiver):
    customer = make_customer()
    make_trigger(customer, url=receiver.url())
    order = make_order(customer)

    with pytest.raises(RuntimeError), transaction.atomic():
        change_order_status(order, OrderStatus.SHIPPED)
        assert Postback.objects.count() == 1  # written inside the transaction...
        raise RuntimeError("the request failed after the save")

    assert Postback.objects.count() == 0  # ...and gone with it
    # A control event afterwards is delivered, so the worker was listening all along.
    other = make_order(customer)
    change_order_status(other, OrderStatus.SHIPPED)
    (request,) = receiver.wait_for(1)
    assert json.loads(request.body)["orderReferenceId"] == other.reference_id
    time.sleep(0.5)
    assert len(receiver.received) == 1


def test_saving_with_unchanged_status_sends_nothing(celery_worker, receiver):
    customer = make_customer()
    make_trigger(customer, url=receiver.url())
    order = make_order(customer, status=OrderStatus.SHIPPED)
    receiver.wait_for(1)  # creating an order in a status is that status's event

    order.data = {**order.data, "note": "edited"}
    order.save()
    change_order_status(order, OrderStatus.SHIPPED)

    assert Postback.objects.count() == 1
    time.sleep(0.5)
    assert len(receiver.received) == 1


def test_receiver_error_is_recorded_and_retried(celery_worker, receiver, settings):
    settings.POSTBACKS_RETRY_SCHEDULE = [0.3, 0.3]
    receiver.reply_with(500, Reply(503, body=b"maintenance"), then=200)
    customer = make_customer()
    trigger = make_trigger(customer, url=receiver.url())
    order = make_order(customer)

    change_order_status(order, OrderStatus.SHIPPED)

    requests = receiver.wait_for(3)
    assert len({request.headers["webhook-id"] for request in requests}) == 1
    assert len({request.body for request in requests}) == 1
    postback = Postback.objects.get(trigger=trigger)
    wait_until(lambda: postback_settled(postback))
    assert postback.status == Postback.Status.DELIVERED
    attempts = list(postback.attempts.all())
    assert [a.response_status for a in attempts] == [500, 503, 200]
    assert [a.outcome for a in attempts] == ["retryable", "retryable", "success"]
    assert attempts[1].response_body == "maintenance"
    assert attempts[1].error == "The receiver answered HTTP 503."
    # The retries waited their scheduled delay (0.3 s, ±20 % jitter) between attempts.
    assert requests[1].received_at - requests[0].received_at >= 0.3 * 0.8


def test_failure_without_retry_is_final(celery_worker, receiver):
    receiver.reply_with(500)
    customer = make_customer()
    trigger = make_trigger(customer, url=receiver.url(), retry_on_failure=False)

    make_order(customer, status=OrderStatus.SHIPPED)

    receiver.wait_for(1)
    postback = Postback.objects.get(trigger=trigger)
    wait_until(lambda: postback_settled(postback))
    assert postback.status == Postback.Status.FAILED
    assert postback.next_attempt_at is None
    assert postback.last_error == "The receiver answered HTTP 500."
    time.sleep(0.5)
    assert len(receiver.received) == 1


def test_client_error_is_not_retried(celery_worker, receiver, settings):
    settings.POSTBACKS_RETRY_SCHEDULE = [0.1]
    receiver.reply_with(400)
    customer = make_customer()
    trigger = make_trigger(customer, url=receiver.url())

    make_order(customer, status=OrderStatus.SHIPPED)

    postback = Postback.objects.get(trigger=trigger)
    wait_until(lambda: postback_settled(postback))
    assert postback.status == Postback.Status.FAILED
    assert postback.attempts.get().outcome == DeliveryAttempt.Outcome.PERMANENT
    time.sleep(0.5)
    assert len(receiver.received) == 1


def test_retries_stop_when_the_schedule_is_used_up(celery_worker, receiver, settings):
    settings.POSTBACKS_RETRY_SCHEDULE = [0.1, 0.1]
    receiver.reply_with(then=502)
    customer = make_customer()
    trigger = make_trigger(customer, url=receiver.url())

    make_order(customer, status=OrderStatus.SHIPPED)

    receiver.wait_for(3)
    postback = Postback.objects.get(trigger=trigger)
    wait_until(lambda: postback_settled(postback))
    assert postback.status == Postback.Status.FAILED
    assert list(postback.attempts.values_list("outcome", flat=True)) == [
        "retryable",
        "retryable",
        "permanent",
    ]
    time.sleep(0.5)
    assert len(receiver.received) == 3


def test_resend_makes_one_more_attempt(celery_worker, receiver):
    from delivery.services import resend

    receiver.reply_with(500, then=200)
    customer = make_customer()
    trigger = make_trigger(customer, url=receiver.url(), retry_on_failure=False)
    make_order(customer, status=OrderStatus.SHIPPED)
    postback = Postback.objects.get(trigger=trigger)
    wait_until(lambda: postback_settled(postback))
    assert postback.status == Postback.Status.FAILED

    resend([postback.pk])

    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    wait_until(lambda: postback_settled(postback) and postback.attempt_count == 2)
    assert postback.status == Postback.Status.DELIVERED
    assert list(postback.attempts.values_list("kind", flat=True)) == ["scheduled", "manual"]
