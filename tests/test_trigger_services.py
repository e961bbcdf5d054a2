"""Send test and activation: the services admin and the API both call."""

import pytest
from django.core.exceptions import ValidationError

from delivery.models import DeliveryAttempt, Postback
from delivery.services import send_test_postback
from triggers.models import Trigger
from triggers.services import activation_problems, set_active

from .factories import make_customer, make_template, make_trigger

pytestmark = pytest.mark.django_db

SAMPLE_TEMPLATE = '{"ref": "{{ orderReferenceId }}", "status": "{{ fulfillmentStatus }}"}'


def test_send_test_delivers_sample_data_to_the_real_destination(receiver):
    trigger = make_trigger(
        make_customer(), url=receiver.url(), template=make_template(body=SAMPLE_TEMPLATE)
    )

    attempt = send_test_postback(trigger)

    assert attempt.outcome == DeliveryAttempt.Outcome.SUCCESS
    assert attempt.response_status == 200
    (request,) = receiver.received
    assert b'"status": "shipped"' in request.body
    postback = Postback.objects.get()
    assert postback.is_test and postback.order is None


def test_a_failed_test_send_is_reported_and_does_not_touch_the_triggers_health(receiver):
    receiver.reply_with(500)
    trigger = make_trigger(make_customer(), url=receiver.url(), is_active=False)

    attempt = send_test_postback(trigger)

    assert attempt.response_status == 500
    assert attempt.error == "The receiver answered HTTP 500."
    trigger.refresh_from_db()
    assert trigger.failing_since is None
    assert Postback.objects.get().status == Postback.Status.FAILED  # one attempt, no schedule


def test_activation_is_refused_when_the_template_fails_its_sample():
    template = make_template(body='{"x": "{{ notInTheData }}"}')
    trigger = make_trigger(
        make_customer(), url="https://example.com/hook", template=template, is_active=False
    )

    with pytest.raises(ValidationError) as error:
        set_active(trigger, True)

    assert "does not render the order shipped sample data" in error.value.messages[0]
    assert "notInTheData" in error.value.messages[0]
    assert not Trigger.objects.get(pk=trigger.pk).is_active


def test_activation_is_refused_for_an_invalid_destination(settings):
    settings.POSTBACKS_ALLOWED_NETWORKS = []
    trigger = make_trigger(make_customer(), url="http://10.0.0.5/hook", is_active=False)

    assert activation_problems(trigger) == [
        "url: 10.0.0.5 is a private address; postbacks are only sent to public addresses "
        "(POSTBACKS_ALLOWED_NETWORKS lists exceptions)."
    ]


def test_a_good_trigger_is_activated_and_deactivated():
    trigger = make_trigger(
        make_customer(),
        url="https://example.com/hook",
        template=make_template(body=SAMPLE_TEMPLATE),
        is_active=False,
    )

    set_active(trigger, True)
    assert Trigger.objects.get(pk=trigger.pk).is_active
    set_active(trigger, False)
    assert not Trigger.objects.get(pk=trigger.pk).is_active
