"""Issue 8's fairness: a per-destination concurrency limit and per-trigger rate limits."""

from datetime import timedelta
from itertools import pairwise

import pytest
from django.utils import timezone

from customers.events import OrderStatus
from delivery.models import DeliveryAttempt, DestinationSlot, Postback
from delivery.receiver import Reply
from delivery.throttling import acquire_slot, destination_key, release_slot

from .factories import make_customer, make_order, make_trigger
from .waiting import wait_until

pytestmark = pytest.mark.django_db


def test_destination_key_is_scheme_host_and_port():
    assert destination_key("https://Hooks.Example.com/a?b=1") == "https://hooks.example.com:443"
    assert destination_key("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080"


def test_a_destination_has_a_limited_number_of_slots(settings):
    settings.POSTBACKS_DESTINATION_CONCURRENCY = 2
    key = "http://slow.example:80"

    assert acquire_slot(key, 1) and acquire_slot(key, 2)
    assert not acquire_slot(key, 3)
    assert acquire_slot("http://other.example:80", 4)  # other destinations are unaffected

    release_slot(key, 1)
    assert acquire_slot(key, 3)


def test_a_slot_held_by_a_dead_worker_is_free_once_its_lease_runs_out(settings):
    settings.POSTBACKS_DESTINATION_CONCURRENCY = 1
    key = "http://slow.example:80"
    assert acquire_slot(key, 1)
    DestinationSlot.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    assert acquire_slot(key, 2)


@pytest.mark.e2e
def test_postbacks_beyond_the_limit_wait_their_turn(celery_worker, receiver, settings):
    settings.POSTBACKS_DESTINATION_CONCURRENCY = 1
    settings.POSTBACKS_DESTINATION_WAIT = 0.2
    receiver.reply_with(then=Reply(200, delay=0.8))
    customer = make_customer()
    make_trigger(customer, url=receiver.url())

    for _ in range(2):
        make_order(customer, status=OrderStatus.SHIPPED)

    first, second = receiver.wait_for(2)
    # One at a time: the second request started after the first was answered.
    assert second.received_at - first.received_at >= 0.75
    wait_until(lambda: Postback.objects.filter(status="delivered").count() == 2)
    # Waiting for a slot is not an attempt.
    assert DeliveryAttempt.objects.count() == 2
    assert set(Postback.objects.values_list("attempt_count", flat=True)) == {1}


@pytest.mark.e2e
def test_a_trigger_rate_limit_spaces_its_requests(celery_worker, receiver):
    customer = make_customer()
    make_trigger(customer, url=receiver.url(), rate_limit=4)

    for _ in range(3):
        make_order(customer, status=OrderStatus.SHIPPED)

    times = [request.received_at for request in receiver.wait_for(3)]
    gaps = [later - earlier for earlier, later in pairwise(times)]
    assert min(gaps) >= 0.2  # 4 per second: 0.25 s apart, less scheduling slack
    wait_until(lambda: Postback.objects.filter(status="delivered").count() == 3)
    assert DeliveryAttempt.objects.count() == 3
