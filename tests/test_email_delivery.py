"""Email postbacks delivered (no worker) to real SMTP servers on 127.0.0.1."""

import time
from email.utils import mktime_tz, parsedate_tz

import pytest

from customers.events import OrderStatus
from delivery import services
from delivery.models import DeliveryAttempt, Postback
from templates_app.models import Template

from .factories import (
    ORDER_DATA,
    make_customer,
    make_order,
    make_template,
    make_trigger,
    use_mail_server,
)
from .smtp_server import Behaviour, SilentServer, SmtpServer

pytestmark = pytest.mark.django_db

USER, PASSWORD = "postbacks", "s3cret-smtp-password"


def email_template() -> Template:
    return make_template(
        kind=Template.Kind.EMAIL,
        subject="Order {{ orderReferenceId }} has shipped",
        body="Tracking: {{ items[0].fulfillments[0].trackingCode }}\n",
        html_body="<p>Tracking: <b>{{ items[0].fulfillments[0].trackingCode }}</b></p>\n",
    )


def shipped_email(recipients: str = "ops@psp.example", **order_fields) -> Postback:
    """A shipped order of a customer with an email trigger, and the postback it created."""
    customer = make_customer(contact_email="buyer@customer.example")
    trigger = make_trigger(
        customer,
        template=email_template(),
        delivery_method="email",
        email_recipients=recipients,
    )
    trigger.full_clean()
    make_order(customer, status=OrderStatus.SHIPPED, **order_fields)
    return Postback.objects.filter(trigger=trigger).get()


@pytest.fixture
def secure_server(trust_test_ca):
    """STARTTLS required, then AUTH, with a certificate from a CA the test trusts explicitly."""
    behaviour = Behaviour(
        credentials=(USER, PASSWORD),
        refuse_recipients={
            "nobody@customer.example": "550 5.1.1 No such user here",
            "full@customer.example": "452 4.2.2 Mailbox full, try later",
        },
    )
    with SmtpServer(starttls_context=trust_test_ca.server_context, behaviour=behaviour) as server:
        use_mail_server(
            server.port, security="starttls", smtp_username=USER, smtp_password=PASSWORD
        )
        yield server


def test_an_order_event_sends_a_traceable_multipart_email(secure_server):
    postback = shipped_email("ops@psp.example, {{ customer.email }}", reference_id="PO-77")

    attempt = services.deliver(postback.pk)

    assert attempt.outcome == DeliveryAttempt.Outcome.SUCCESS, attempt.error
    (received,) = secure_server.received
    assert received.authenticated_as == USER
    assert received.mail_from == "orders@psp.example"
    assert received.rcpt_tos == ["ops@psp.example", "buyer@customer.example"]
    message = received.message
    (sender,) = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("PSP Orders", "orders@psp.example")
    assert message["To"] == "ops@psp.example, buyer@customer.example"
    assert message["Subject"] == "Order PO-77 has shipped"
    assert message["Message-ID"] == f"<msg_{postback.public_id.hex}@psp.example>"
    assert message["X-Postback-Id"] == f"msg_{postback.public_id.hex}"
    assert abs(mktime_tz(parsedate_tz(message["Date"])) - time.time()) < 60
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert plain.get_content().splitlines() == ["Tracking: TRACK-1"]
    assert html.get_content_type() == "text/html"
    assert html.get_content().splitlines() == ["<p>Tracking: <b>TRACK-1</b></p>"]
    # The delivery log keeps the server's answer, which names the queued message.
    assert attempt.response_status == 250
    assert attempt.response_body == "2.0.0 Ok: queued as Q1"
    assert attempt.destination == "ops@psp.example, buyer@customer.example"
    postback.refresh_from_db()
    assert postback.status == Postback.Status.DELIVERED


def test_a_plain_text_template_sends_a_single_part_email(secure_server):
    template = make_template(kind=Template.Kind.EMAIL, subject="Shipped", body="Shipped.\n")
    customer = make_customer()
    make_trigger(
        customer, template=template, delivery_method="email", email_recipients="ops@psp.example"
    )
    make_order(customer, status=OrderStatus.SHIPPED)

    services.deliver(Postback.objects.get().pk)

    (received,) = secure_server.received
    assert received.message.get_content_type() == "text/plain"
    assert received.message.get_content().splitlines() == ["Shipped."]


def test_a_wrong_password_fails_for_good(secure_server):
    use_mail_server(
        secure_server.port, security="starttls", smtp_username=USER, smtp_password="wrong"
    )
    postback = shipped_email()

    attempt = services.deliver(postback.pk)

    assert attempt.outcome == DeliveryAttempt.Outcome.PERMANENT
    assert attempt.response_status == 535
    assert attempt.error.startswith("The mail server rejected the user name or password: 535")
    postback.refresh_from_db()
    assert postback.status == Postback.Status.FAILED
    assert secure_server.received == []


def test_an_unknown_recipient_is_not_retried(secure_server, settings):
    settings.POSTBACKS_RETRY_SCHEDULE = [60]
    postback = shipped_email("nobody@customer.example")

    attempt = services.deliver(postback.pk)

    assert attempt.outcome == DeliveryAttempt.Outcome.PERMANENT
    assert (attempt.response_status, attempt.response_body) == (550, "5.1.1 No such user here")
    assert attempt.error == (
        "The mail server refused the recipient: nobody@customer.example "
        "(550 5.1.1 No such user here)"
    )


def test_a_temporary_refusal_is_retried(secure_server, settings):
    settings.POSTBACKS_RETRY_SCHEDULE = [60]
    postback = shipped_email("full@customer.example")

    attempt = services.deliver(postback.pk)

    assert attempt.outcome == DeliveryAttempt.Outcome.RETRYABLE
    assert attempt.response_status == 452
    postback.refresh_from_db()
    assert postback.status == Postback.Status.RETRYING


def test_a_server_that_does_not_answer_is_a_recorded_timeout(settings):
    settings.POSTBACKS_RETRY_SCHEDULE = [60]
    settings.POSTBACKS_SMTP_TIMEOUT = 0.3
    with SilentServer() as server:
        use_mail_server(server.port)
        postback = shipped_email()

        started = time.monotonic()
        attempt = services.deliver(postback.pk)

    assert time.monotonic() - started < 5
    assert attempt.outcome == DeliveryAttempt.Outcome.RETRYABLE
    assert attempt.error == "The mail server did not answer in time (timeout after 0.3 s)."
    assert attempt.response_status is None


@pytest.mark.parametrize(
    ("recipients", "order_data", "error"),
    [
        (
            "{{ shippingAddress.email }}",
            {"shippingAddress": {"email": "not-an-address"}},
            'Not a valid email address, so nothing was sent: "not-an-address".',
        ),
        (
            "{{ shippingAddress.email }}",
            {},
            "The recipients could not be computed from the event: "
            "undefined names used: shippingAddress.email",
        ),
        (
            "{{ shippingAddress.email }}",
            {"shippingAddress": {"email": ""}},
            "The recipients template gave no address for this event.",
        ),
    ],
)
def test_computed_recipients_that_are_unusable_fail_for_good(
    secure_server, settings, recipients, order_data, error
):
    settings.POSTBACKS_RETRY_SCHEDULE = [60]
    postback = shipped_email(recipients, data={**ORDER_DATA, **order_data})

    attempt = services.deliver(postback.pk)

    assert attempt.outcome == DeliveryAttempt.Outcome.PERMANENT
    assert attempt.error == error
    assert secure_server.sessions.total == 0  # the server was never bothered
    postback.refresh_from_db()
    assert postback.status == Postback.Status.FAILED


def test_computed_recipients_come_from_the_event_data(secure_server):
    postback = shipped_email(
        "{{ shippingAddress.email }}",
        data={**ORDER_DATA, "shippingAddress": {"email": "jo@buyer.example"}},
    )

    services.deliver(postback.pk)

    assert secure_server.wait_for(1)[0].rcpt_tos == ["jo@buyer.example"]


def test_emails_in_a_row_share_one_smtp_session(secure_server):
    first, second = shipped_email(), shipped_email()

    services.deliver(first.pk)
    services.deliver(second.pk)

    assert len(secure_server.received) == 2
    assert secure_server.sessions.total == 1


def test_a_dropped_connection_is_opened_again(trust_test_ca):
    first, second = shipped_email(), shipped_email()
    with SmtpServer(starttls_context=trust_test_ca.server_context) as server:
        use_mail_server(server.port, security="starttls")
        port = server.port
        services.deliver(first.pk)
    # The server restarts: the worker's open connection is dead, and found so before use.
    with SmtpServer(port=port, starttls_context=trust_test_ca.server_context) as server:
        attempt = services.deliver(second.pk)

        assert attempt.outcome == DeliveryAttempt.Outcome.SUCCESS, attempt.error
        assert len(server.received) == 1


def test_an_idle_connection_is_closed(secure_server, settings):
    settings.POSTBACKS_SMTP_IDLE_TIMEOUT = 0.5

    services.deliver(shipped_email().pk)

    assert secure_server.sessions.open == 1
    deadline = time.monotonic() + 5
    while secure_server.sessions.open and time.monotonic() < deadline:
        time.sleep(0.02)
    assert secure_server.sessions.open == 0
    services.deliver(shipped_email().pk)
    assert secure_server.sessions.total == 2
