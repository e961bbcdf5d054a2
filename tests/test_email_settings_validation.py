"""Email settings and recipients: bad input gets an error naming the field."""

import pytest
from django.core.exceptions import ValidationError

from delivery.models import WorkspaceSettings
from templates_app.models import Template
from triggers.models import Trigger

from .factories import make_customer, make_template

pytestmark = pytest.mark.django_db


def workspace(**fields) -> WorkspaceSettings:
    fields.setdefault("sender_email", "orders@psp.example")
    return WorkspaceSettings(**fields)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "localhost", "::1", "[::1]"])
def test_unencrypted_smtp_is_allowed_to_this_machine(host):
    workspace(smtp_host=host, smtp_port=25, smtp_security="none").full_clean()


def test_unencrypted_smtp_elsewhere_is_refused_on_the_security_field():
    with pytest.raises(ValidationError) as error:
        workspace(smtp_host="mail.psp.example", smtp_security="none").full_clean()

    (message,) = error.value.message_dict["smtp_security"]
    assert message.startswith("Without encryption the password and every email cross")
    assert "POSTBACKS_SMTP_ALLOW_PLAINTEXT" in message


def test_unencrypted_smtp_elsewhere_is_allowed_when_the_environment_says_so(settings):
    settings.POSTBACKS_SMTP_ALLOW_PLAINTEXT = True

    workspace(smtp_host="mail.psp.example", smtp_security="none").full_clean()


def test_an_smtp_server_needs_a_sender_and_a_real_port():
    with pytest.raises(ValidationError) as error:
        WorkspaceSettings(smtp_host="mail.psp.example", smtp_port=70000).full_clean()

    assert error.value.message_dict == {
        "sender_email": [
            "Emails sent through your own SMTP server need a sender address on your domain."
        ],
        "smtp_port": ["Enter a port between 1 and 65535 (usually 587 or 465)."],
    }


def test_without_an_smtp_server_nothing_else_is_required():
    WorkspaceSettings(smtp_security="none").full_clean()


def email_trigger(recipients: str) -> Trigger:
    return Trigger(
        customer=make_customer(),
        name="t",
        event="order_shipped",
        template=make_template(kind=Template.Kind.EMAIL, subject="s", body="b"),
        delivery_method="email",
        email_recipients=recipients,
    )


def test_recipients_may_come_from_the_event_data():
    email_trigger("ops@psp.example, {{ customer.email }}, {{ shippingAddress.email }}").full_clean()


@pytest.mark.parametrize(
    ("recipients", "message"),
    [
        ("{{ customer.email }, ops@psp.example", "Line 1: unexpected '}'"),
        ("{{ customer.email }}, ops at psp", '"ops at psp" is not a valid email address.'),
    ],
)
def test_bad_recipients_are_named(recipients, message):
    with pytest.raises(ValidationError) as error:
        email_trigger(recipients).full_clean()

    assert error.value.message_dict["email_recipients"] == [message]
