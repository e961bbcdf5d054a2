"""Delivery rules, called directly (no worker) against a real receiver on loopback."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from delivery import services
from delivery.models import DeliveryAttempt, Postback
from delivery.tasks import deliver_postback
from templates_app.models import Template

from .factories import make_template, shipped_postback

pytestmark = pytest.mark.django_db


def test_a_postback_is_delivered_once(receiver, published):
    postback = shipped_postback(receiver.url())

    first = services.deliver(postback.pk)
    second = services.deliver(postback.pk)

    assert first.outcome == DeliveryAttempt.Outcome.SUCCESS
    assert second is None
    assert len(receiver.received) == 1


def test_a_claimed_postback_is_left_to_its_worker_until_the_claim_lapses(receiver, published):
    postback = shipped_postback(receiver.url())
    Postback.objects.filter(pk=postback.pk).update(
        claimed_until=timezone.now() + timedelta(seconds=60)
    )

    assert services.deliver(postback.pk) is None
    assert services.sweep_due_postbacks() == 0

    Postback.objects.filter(pk=postback.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1), enqueued_at=None
    )
    assert services.sweep_due_postbacks() == 1
    assert services.deliver(postback.pk).outcome == DeliveryAttempt.Outcome.SUCCESS


def test_the_sweep_queues_what_the_broker_never_got(receiver, monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(deliver_postback, "apply_async", broker_down)
    postback = shipped_postback(receiver.url())  # the status change itself succeeds
    postback.refresh_from_db()
    assert postback.enqueued_at is None

    queued = []
    monkeypatch.setattr(
        deliver_postback, "apply_async", lambda args, kwargs, **_: queued.append(args[0])
    )
    assert services.sweep_due_postbacks() == 1
    assert queued == [postback.pk]
    postback.refresh_from_db()
    assert postback.enqueued_at is not None
    assert services.sweep_due_postbacks() == 0  # queued recently: not again


def test_a_retry_due_later_is_left_to_the_sweep(receiver, published, settings):
    settings.POSTBACKS_RETRY_SCHEDULE = [3600]
    receiver.reply_with(503)
    postback = shipped_postback(receiver.url())
    published.clear()

    services.deliver(postback.pk)

    postback.refresh_from_db()
    assert postback.status == Postback.Status.RETRYING
    wait = (postback.next_attempt_at - timezone.now()).total_seconds()
    assert 3600 * 0.8 - 5 < wait <= 3600 * 1.2
    assert published == []  # no queue message waits an hour in the broker
    assert services.sweep_due_postbacks() == 0  # not due yet
    assert services.deliver(postback.pk) is None


def test_retries_travel_in_their_own_queue(
    receiver, published, settings, django_capture_on_commit_callbacks
):
    settings.POSTBACKS_RETRY_SCHEDULE = [0.1]
    receiver.reply_with(503)
    with django_capture_on_commit_callbacks(execute=True):
        postback = shipped_postback(receiver.url())
    assert published.queues == ["postbacks"]

    with django_capture_on_commit_callbacks(execute=True):
        services.deliver(postback.pk)

    assert published.queues == ["postbacks", "postbacks-retries"]


def test_unreachable_receiver_is_a_retryable_failure_in_plain_words(published, settings):
    settings.POSTBACKS_RETRY_SCHEDULE = [60]
    postback = shipped_postback("http://127.0.0.1:9/nothing-listens-here")

    attempt = services.deliver(postback.pk)

    assert attempt.outcome == DeliveryAttempt.Outcome.RETRYABLE
    assert attempt.response_status is None
    assert "refused the connection" in attempt.error


def test_a_template_that_cannot_render_fails_without_sending(receiver, published):
    template = make_template(body='{"ref": "{{ orderReferenceId }}", "x": {{ missing.deep }}}')
    postback = shipped_postback(receiver.url(), template=template)

    attempt = services.deliver(postback.pk)

    assert attempt.outcome == DeliveryAttempt.Outcome.PERMANENT
    assert "missing.deep" in attempt.error
    postback.refresh_from_db()
    assert postback.status == Postback.Status.FAILED
    assert receiver.received == []


def test_a_deactivated_trigger_skips_its_pending_postbacks(receiver, published):
    postback = shipped_postback(receiver.url())
    postback.trigger.is_active = False
    postback.trigger.save()

    assert services.deliver(postback.pk) is None

    postback.refresh_from_db()
    assert postback.status == Postback.Status.SKIPPED
    assert receiver.received == []


def test_resend_queues_a_manual_attempt(receiver, published):
    postback = shipped_postback(receiver.url())
    services.deliver(postback.pk)

    services.resend([postback.pk])

    assert published[-1] == (postback.pk, True)
    attempt = services.deliver(postback.pk, manual=True)
    assert attempt.kind == DeliveryAttempt.Kind.MANUAL
    assert attempt.number == 2


def test_email_trigger_sends_the_rendered_email(published, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    template = make_template(
        kind=Template.Kind.EMAIL,
        subject="Order {{ orderReferenceId }} has shipped",
        body="Tracking: {{ items[0].fulfillments[0].trackingCode }}",
        html_body="<p>Tracking: <b>{{ items[0].fulfillments[0].trackingCode }}</b></p>",
    )
    postback = shipped_postback(
        "",
        template=template,
        delivery_method="email",
        email_recipients="ops@psp.example, buyer@customer.example",
    )

    attempt = services.deliver(postback.pk)

    assert attempt.outcome == DeliveryAttempt.Outcome.SUCCESS
    (message,) = mail.outbox
    assert message.to == ["ops@psp.example", "buyer@customer.example"]
    assert message.subject == f"Order {postback.order_reference} has shipped"
    assert message.body == "Tracking: TRACK-1"
    assert message.alternatives[0][0] == "<p>Tracking: <b>TRACK-1</b></p>"
    assert message.extra_headers["X-Postback-Id"] == f"msg_{postback.public_id.hex}"
