"""Email postbacks for real: a status change, a Celery worker, an SMTP server on loopback."""

import pytest

from customers.events import OrderStatus
from customers.services import change_order_status
from delivery.models import Postback
from templates_app.models import Template

from .factories import make_customer, make_order, make_template, make_trigger, use_mail_server
from .smtp_server import Behaviour, SmtpServer, free_port
from .test_delivery_e2e import postback_settled, wait_until

pytestmark = pytest.mark.e2e


def email_trigger(customer, recipients: str = "ops@psp.example"):
    template = make_template(
        kind=Template.Kind.EMAIL,
        subject="{{ orderReferenceId }}: {{ fulfillmentStatus }}",
        body="Order {{ orderReferenceId }} is {{ fulfillmentStatus }}.",
        html_body="<p>Order <b>{{ orderReferenceId }}</b> is {{ fulfillmentStatus }}.</p>",
    )
    return make_trigger(
        customer, template=template, delivery_method="email", email_recipients=recipients
    )


def test_a_status_change_is_emailed_through_the_psps_server(celery_worker, trust_test_ca):
    behaviour = Behaviour(credentials=("postbacks", "pw-1"))
    with SmtpServer(starttls_context=trust_test_ca.server_context, behaviour=behaviour) as server:
        use_mail_server(
            server.port, security="starttls", smtp_username="postbacks", smtp_password="pw-1"
        )
        customer = make_customer(contact_email="buyer@customer.example")
        trigger = email_trigger(customer, "ops@psp.example, {{ customer.email }}")
        order = make_order(customer, reference_id="PO-9")

        change_order_status(order, OrderStatus.SHIPPED)

        (received,) = server.wait_for(1)
    postback = Postback.objects.get(trigger=trigger)
    message = received.message
    assert received.rcpt_tos == ["ops@psp.example", "buyer@customer.example"]
    assert message["From"].addresses[0].display_name == "PSP Orders"
    assert message["Subject"] == "PO-9: shipped"
    assert message["Message-ID"] == f"<msg_{postback.public_id.hex}@psp.example>"
    assert message["X-Postback-Id"] == f"msg_{postback.public_id.hex}"
    assert message["Date"]
    plain, html = message.iter_parts()
    assert plain.get_content().strip() == "Order PO-9 is shipped."
    assert html.get_content().strip() == "<p>Order <b>PO-9</b> is shipped.</p>"
    wait_until(lambda: postback_settled(postback))
    assert postback.status == Postback.Status.DELIVERED
    assert postback.attempts.get().response_body == "2.0.0 Ok: queued as Q1"


def test_a_mail_server_down_then_up_gets_the_email_on_a_retry(celery_worker, settings):
    settings.POSTBACKS_RETRY_SCHEDULE = [0.3] * 20
    port = free_port()
    use_mail_server(port)
    customer = make_customer()
    trigger = email_trigger(customer)

    make_order(customer, status=OrderStatus.SHIPPED)
    postback = Postback.objects.get(trigger=trigger)
    wait_until(lambda: postback.attempts.count() >= 2)  # refused, retried, refused again

    with SmtpServer(port=port) as server:
        (received,) = server.wait_for(1)
        wait_until(lambda: postback_settled(postback))

    assert received.message["X-Postback-Id"] == f"msg_{postback.public_id.hex}"
    assert postback.status == Postback.Status.DELIVERED
    attempts = list(postback.attempts.all())
    assert {attempt.outcome for attempt in attempts[:-1]} == {"retryable"}
    assert attempts[0].error == (
        "The mail server refused the connection (nothing listening at that port)."
    )
    assert attempts[-1].outcome == "success"
