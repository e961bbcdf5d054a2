"""Which postbacks a status change creates, and when they are queued."""

import pytest
from django.db import transaction

from customers.events import Event, OrderStatus
from customers.services import change_order_status
from delivery.models import Postback

from .factories import make_customer, make_order, make_template, make_trigger

pytestmark = pytest.mark.django_db


def test_one_postback_per_trigger_of_the_customer_for_the_event(
    django_capture_on_commit_callbacks,
):
    customer = make_customer()
    first = make_trigger(customer, url="http://127.0.0.1:9/a")
    second = make_trigger(customer, url="http://127.0.0.1:9/b")
    inactive = make_trigger(customer, url="http://127.0.0.1:9/c", is_active=False)
    make_trigger(customer, url="http://127.0.0.1:9/d", event=Event.ORDER_DELIVERED)
    inactive_template = make_trigger(
        customer, url="http://127.0.0.1:9/e", template=make_template(is_active=False)
    )
    make_trigger(make_customer(), url="http://127.0.0.1:9/other-customer")
    order = make_order(customer)

    with django_capture_on_commit_callbacks() as callbacks:
        change_order_status(order, OrderStatus.SHIPPED)

    postbacks = Postback.objects.order_by("trigger_id")
    assert [(p.trigger, p.status) for p in postbacks] == [
        (first, Postback.Status.PENDING),
        (second, Postback.Status.PENDING),
        (inactive, Postback.Status.SKIPPED),
        (inactive_template, Postback.Status.SKIPPED),
    ]
    assert len(callbacks) == 1  # one on_commit queues the two pending ones
    data = postbacks[0].event_data
    assert data["orderReferenceId"] == order.reference_id
    assert data["orderId"] == str(order.public_id)
    assert data["fulfillmentStatus"] == "shipped"
    assert data["customer"] == {
        "id": str(customer.public_id),
        "name": customer.name,
        "referenceId": customer.reference_id,
        "email": customer.contact_email,
    }
    assert data["items"][0]["fulfillments"][0]["trackingCode"] == "TRACK-1"


def test_a_new_order_raises_the_event_of_its_first_status():
    customer = make_customer()
    make_trigger(customer, url="http://127.0.0.1:9/", event=Event.ORDER_RECEIVED)

    make_order(customer, status=OrderStatus.RECEIVED)

    assert Postback.objects.get().event == Event.ORDER_RECEIVED


def test_each_status_raises_its_event():
    customer = make_customer()
    order = make_order(customer, status=OrderStatus.RECEIVED)
    for status in OrderStatus:
        make_trigger(customer, url="http://127.0.0.1:9/", event=f"order_{status.value}")
    Postback.objects.all().delete()

    for status in [s for s in OrderStatus if s != OrderStatus.RECEIVED]:
        change_order_status(order, status)

    assert list(Postback.objects.order_by("id").values_list("event", flat=True)) == [
        f"order_{status.value}" for status in OrderStatus if status != OrderStatus.RECEIVED
    ]


def test_an_order_loaded_and_saved_again_raises_nothing():
    customer = make_customer()
    make_trigger(customer, url="http://127.0.0.1:9/")
    order = make_order(customer, status=OrderStatus.SHIPPED)

    from customers.models import Order

    reloaded = Order.objects.get(pk=order.pk)
    reloaded.save()
    order.save()

    assert Postback.objects.count() == 1


def test_an_invalid_status_is_refused_before_anything_is_written():
    from django.core.exceptions import ValidationError

    customer = make_customer()
    make_trigger(customer, url="http://127.0.0.1:9/")
    order = make_order(customer)

    with pytest.raises(ValidationError) as error:
        change_order_status(order, "lost")

    assert "status" in error.value.message_dict
    order.refresh_from_db()
    assert order.status == OrderStatus.PRODUCED
    assert Postback.objects.count() == 0


def test_postbacks_are_written_in_the_orders_transaction():
    customer = make_customer()
    make_trigger(customer, url="http://127.0.0.1:9/")
    order = make_order(customer)

    with pytest.raises(RuntimeError), transaction.atomic():
        change_order_status(order, OrderStatus.SHIPPED)
        raise RuntimeError

    assert Postback.objects.count() == 0


@pytest.mark.parametrize("trigger_count", [1, 10])
def test_a_status_change_costs_the_same_queries_for_any_number_of_triggers(
    trigger_count, django_assert_num_queries, django_capture_on_commit_callbacks, monkeypatch
):
    from delivery.tasks import deliver_postback

    monkeypatch.setattr(deliver_postback, "apply_async", lambda *args, **kwargs: None)
    customer = make_customer()
    for number in range(trigger_count):
        make_trigger(customer, url=f"http://127.0.0.1:9/{number}")
    order = make_order(customer)

    # Savepoint, UPDATE order, SELECT triggers, INSERT postbacks (one statement), release;
    # then, after commit, one UPDATE marking them queued.
    with django_assert_num_queries(6), django_capture_on_commit_callbacks(execute=True):
        change_order_status(order, OrderStatus.SHIPPED)

    assert Postback.objects.count() == trigger_count
