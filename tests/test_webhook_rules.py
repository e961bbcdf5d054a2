"""Issue 4's rules, checked directly with injected time and a real receiver on loopback."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from delivery import services
from delivery.alerts import send_alert_now
from delivery.models import DeliveryAttempt, Postback, WorkspaceSettings
from delivery.policy import retry_delay
from delivery.tasks import deliver_postback, send_alert
from delivery.transports import _retry_after
from triggers.models import Trigger

from .factories import make_customer, make_template, shipped_postback

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_queue(monkeypatch, settings):
    """Nothing is published: these tests call the services themselves, and alerts are sent
    by the same function the alert task runs."""
    monkeypatch.setattr(deliver_postback, "apply_async", lambda *args, **kwargs: None)
    monkeypatch.setattr(send_alert, "delay", send_alert_now)
    settings.POSTBACKS_RETRY_JITTER = 0
    settings.POSTBACKS_RETRY_SCHEDULE = [5, 300, 1800]


# --- the schedule -----------------------------------------------------------------------


def test_schedule_then_give_up():
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [5, 300, 1800, None]


def test_jitter_spreads_each_wait_by_twenty_percent(settings):
    settings.POSTBACKS_RETRY_JITTER = 0.2
    waits = {retry_delay(2) for _ in range(200)}
    assert min(waits) >= 240 and max(waits) <= 360 and len(waits) > 100


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"timed_out": True}, 60),  # at least a minute after a timeout
        ({"status": 429}, 60),  # and after "too many requests"
        ({"status": 429, "retry_after": 90}, 90),  # Retry-After honoured...
        ({"status": 429, "retry_after": 3600}, 120),  # ...up to twice the wait
        ({"status": 503, "retry_after": 1}, 5),  # ...and never below it
        ({"status": 503, "retry_after": 8}, 8),
        ({"status": 500, "retry_after": 8}, 5),  # only on 429 and 503
    ],
)
def test_waits_after_overload_and_retry_after(kwargs, expected):
    assert retry_delay(1, **kwargs) == expected


def test_retry_after_as_an_http_date():
    later = (timezone.now() + timedelta(seconds=120)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 115 <= _retry_after(later) <= 120
    assert _retry_after("soon") is None


# --- trigger health -----------------------------------------------------------------------


def test_five_days_of_failures_deactivate_the_trigger(receiver, django_capture_on_commit_callbacks):
    WorkspaceSettings.objects.update_or_create(pk=1, defaults={"alert_email": "ops@psp.example"})
    receiver.reply_with(then=500)
    postback = shipped_postback(receiver.url())
    trigger = postback.trigger

    with django_capture_on_commit_callbacks(execute=True):
        services.deliver(postback.pk)
    trigger.refresh_from_db()
    assert trigger.failing_since is not None and trigger.is_active

    # Injected time: the failures began five days ago.
    Trigger.objects.filter(pk=trigger.pk).update(
        failing_since=timezone.now() - timedelta(days=5, seconds=1)
    )
    Postback.objects.filter(pk=postback.pk).update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        services.deliver(postback.pk)

    trigger.refresh_from_db()
    assert not trigger.is_active
    assert trigger.deactivation_reason.startswith(
        "Deactivated automatically: every delivery failed for 5 days"
    )
    subjects = [message.subject for message in mail.outbox]
    assert subjects == [
        f"Postbacks: trigger “{trigger.name}” started failing",
        f"Postbacks: trigger “{trigger.name}” was deactivated",
    ]

    # Staff fix it and turn it back on: a clean record.
    trigger.is_active = True
    trigger.save()
    trigger.refresh_from_db()
    assert trigger.deactivation_reason == "" and trigger.failing_since is None


def test_a_success_ends_a_failing_run(receiver):
    receiver.reply_with(500, then=200)
    postback = shipped_postback(receiver.url())

    services.deliver(postback.pk)
    Postback.objects.filter(pk=postback.pk).update(next_attempt_at=timezone.now())
    services.deliver(postback.pk)

    postback.trigger.refresh_from_db()
    assert postback.trigger.failing_since is None


def test_template_errors_do_not_count_against_the_endpoint(receiver):
    template = make_template(body='{"x": "{{ nope }}"}')
    postback = shipped_postback(receiver.url(), template=template)

    services.deliver(postback.pk)

    postback.trigger.refresh_from_db()
    assert postback.trigger.failing_since is None


def test_a_manual_resend_does_not_restart_the_schedule(receiver):
    receiver.reply_with(then=500)
    postback = shipped_postback(receiver.url())
    services.deliver(postback.pk)
    postback.refresh_from_db()
    due = postback.next_attempt_at

    attempt = services.deliver(postback.pk, manual=True)

    postback.refresh_from_db()
    assert attempt.outcome == DeliveryAttempt.Outcome.PERMANENT
    assert postback.status == Postback.Status.RETRYING and postback.next_attempt_at == due


# --- the request ------------------------------------------------------------------------


def test_custom_headers_and_basic_auth_are_sent_and_masked_in_the_log(receiver):
    postback = shipped_postback(
        receiver.url(),
        custom_headers="X-Api-Key: key_live_0123456789abcdef\nX-Shop: north",
        auth_type=Trigger.AuthType.BASIC,
        auth_username="psp",
        auth_secret="pa55word",
    )

    attempt = services.deliver(postback.pk)

    (request,) = receiver.received
    assert request.headers["x-api-key"] == "key_live_0123456789abcdef"
    assert request.headers["authorization"] == "Basic cHNwOnBhNTV3b3Jk"
    assert attempt.request_headers["X-Api-Key"] == "****cdef"
    assert attempt.request_headers["X-Shop"] == "****"
    assert attempt.request_headers["Authorization"] == "Basic ****"
    assert attempt.remote_address == "127.0.0.1"
    assert "pa55word" not in str(attempt.request_headers)


def test_bearer_auth(receiver):
    postback = shipped_postback(
        receiver.url(), auth_type=Trigger.AuthType.BEARER, auth_secret="tok_abc"
    )

    services.deliver(postback.pk)

    assert receiver.received[0].headers["authorization"] == "Bearer tok_abc"


def test_trigger_secrets_are_encrypted_at_rest(receiver):
    from django.db import connection

    postback = shipped_postback(
        receiver.url(), custom_headers="X-Api-Key: abc", auth_type="bearer", auth_secret="tok"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT custom_headers, auth_secret, signing_secret FROM triggers_trigger")
        row = cursor.fetchone()
    assert all(value.startswith("fernet:") for value in row)
    assert postback.trigger.signing_secret not in str(row)


def test_the_response_body_is_kept_up_to_the_limit(receiver, settings):
    from delivery.receiver import Reply

    settings.POSTBACKS_RESPONSE_BODY_LIMIT = 1000
    receiver.reply_with(Reply(200, body=b"x" * 5000))
    postback = shipped_postback(receiver.url())

    attempt = services.deliver(postback.pk)

    assert attempt.response_body == "x" * 1000 and attempt.response_truncated


def test_redirects_are_not_followed(receiver):
    from delivery.receiver import Reply

    receiver.reply_with(Reply(302, headers={"Location": receiver.url("/elsewhere")}))
    postback = shipped_postback(receiver.url(), retry_on_failure=False)

    attempt = services.deliver(postback.pk)

    assert len(receiver.received) == 1
    assert "redirects are not followed" in attempt.error


# --- SSRF -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://10.1.2.3/hook", "10.1.2.3 is a private address"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::1]:8080/hook", "loopback"),
        ("http://localhost:8080/hook", "loopback"),
        ("http://0.0.0.0/hook", "unspecified"),
    ],
)
def test_private_destinations_are_refused_when_saved(url, words, settings):
    settings.POSTBACKS_ALLOWED_NETWORKS = []
    trigger = Trigger(
        customer=make_customer(),
        name="t",
        event="order_shipped",
        template=make_template(),
        url=url,
    )

    with pytest.raises(ValidationError) as error:
        trigger.full_clean()

    assert words in error.value.message_dict["url"][0]


def test_a_name_resolving_to_a_private_address_is_refused_on_connect(receiver, settings):
    settings.POSTBACKS_ALLOWED_NETWORKS = []
    postback = shipped_postback(f"http://localhost:{receiver.port}/hook")

    attempt = services.deliver(postback.pk)

    assert attempt.error.startswith("Refused address: 127.0.0.1 is a loopback address")
    assert attempt.outcome == DeliveryAttempt.Outcome.PERMANENT
    assert receiver.received == []


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ("no colon here", "Line 1: write each header as 'Name: value'"),
        ("X-Ok: 1\nContent-Type: text/plain", "Line 2: Content-Type is set by Postbacks"),
        ("Bad Name: 1", "Line 1: write each header"),
    ],
)
def test_custom_headers_are_validated(headers, words):
    trigger = Trigger(
        customer=make_customer(),
        name="t",
        event="order_shipped",
        template=make_template(),
        url="https://example.com/hook",
        custom_headers=headers,
    )

    with pytest.raises(ValidationError) as error:
        trigger.full_clean()

    assert words in error.value.message_dict["custom_headers"][0]


# --- retention --------------------------------------------------------------------------


def test_old_bodies_are_removed_and_metadata_kept(receiver):
    postback = shipped_postback(receiver.url())
    attempt = services.deliver(postback.pk)
    DeliveryAttempt.objects.filter(pk=attempt.pk).update(
        started_at=timezone.now() - timedelta(days=91)
    )

    assert services.remove_old_bodies() == 1
    assert services.remove_old_bodies() == 0

    attempt.refresh_from_db()
    assert attempt.request_body == "" and attempt.response_body == ""
    assert attempt.response_status == 200 and attempt.bodies_removed_at is not None
