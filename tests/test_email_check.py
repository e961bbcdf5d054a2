"""Send test email against real SMTP servers on 127.0.0.1: each answer of the check."""

import socket

import pytest
from django.core.exceptions import ValidationError

from delivery.email_check import send_test_email
from delivery.smtp_failures import Stage

from .factories import use_mail_server
from .smtp_server import Behaviour, SilentServer, SmtpServer, free_port

pytestmark = pytest.mark.django_db

USER, PASSWORD = "postbacks", "correct horse battery staple"


@pytest.fixture
def secure_server(trust_test_ca):
    """A server like a PSP's: STARTTLS required, then AUTH, certificate from a private CA."""
    behaviour = Behaviour(
        credentials=(USER, PASSWORD),
        refuse_senders={"blocked@psp.example": "553 5.7.1 Sender address rejected"},
        refuse_recipients={"nobody@customer.example": "550 5.1.1 No such user here"},
    )
    with SmtpServer(starttls_context=trust_test_ca.server_context, behaviour=behaviour) as server:
        yield server


def check(server_port: int, to: str = "staff@psp.example", **fields):
    return send_test_email(use_mail_server(server_port, **fields), to)


def test_a_working_server_gets_the_test_message(secure_server):
    result = check(
        secure_server.port, security="starttls", smtp_username=USER, smtp_password=PASSWORD
    )

    assert result.ok and result.stage == Stage.SENT
    assert result.message == (
        f"Sent to staff@psp.example: 127.0.0.1:{secure_server.port} accepted the test message."
    )
    assert (result.smtp_code, result.reply) == (250, "2.0.0 Ok: queued as Q1")
    (received,) = secure_server.received
    assert received.authenticated_as == USER
    assert received.rcpt_tos == ["staff@psp.example"]
    (sender,) = received.message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("PSP Orders", "orders@psp.example")
    assert received.message["Subject"] == "Postbacks test email"
    assert received.message["Message-ID"].endswith("@psp.example>")


def test_implicit_tls_works_too(trust_test_ca):
    with SmtpServer(implicit_tls_context=trust_test_ca.server_context) as server:
        result = check(server.port, security="ssl")

    assert result.ok, result.message
    assert len(server.received) == 1


def test_wrong_password_is_authentication_rejected(secure_server):
    result = check(
        secure_server.port, security="starttls", smtp_username=USER, smtp_password="wrong"
    )

    assert not result.ok
    assert result.stage == Stage.AUTH_REJECTED
    assert result.smtp_code == 535
    assert result.message.startswith("The mail server rejected the user name or password: 535")
    assert secure_server.received == []


def test_an_untrusted_certificate_fails_the_tls_handshake(settings, test_ca):
    settings.POSTBACKS_SMTP_CA_FILE = ""  # the test CA is not trusted now
    with SmtpServer(starttls_context=test_ca.server_context) as server:
        result = check(server.port, security="starttls")

    assert result.stage == Stage.TLS_FAILED
    assert result.message.startswith(
        "The TLS handshake with the mail server failed: its certificate is not trusted "
        "(unable to get local issuer certificate)."
    )
    assert "POSTBACKS_SMTP_CA_FILE" in result.message


def test_starttls_asked_of_a_server_without_it_is_named(settings):
    settings.POSTBACKS_SMTP_ALLOW_PLAINTEXT = True
    with SmtpServer() as server:
        result = check(server.port, security="starttls")

    assert result.stage == Stage.NOT_SUPPORTED
    assert "does not offer STARTTLS" in result.message


def test_refused_sender(secure_server):
    result = check(
        secure_server.port,
        security="starttls",
        smtp_username=USER,
        smtp_password=PASSWORD,
        sender_email="blocked@psp.example",
    )

    assert result.stage == Stage.SENDER_REFUSED
    assert (result.smtp_code, result.reply) == (553, "5.7.1 Sender address rejected")
    assert "refused the sender" in result.message


def test_refused_recipient(secure_server):
    result = check(
        secure_server.port,
        "nobody@customer.example",
        security="starttls",
        smtp_username=USER,
        smtp_password=PASSWORD,
    )

    assert result.stage == Stage.RECIPIENT_REFUSED
    assert result.smtp_code == 550
    assert result.message == (
        "The mail server refused the recipient: "
        "nobody@customer.example (550 5.1.1 No such user here)"
    )


def test_nothing_listening_is_connection_refused():
    result = check(free_port())

    assert result.stage == Stage.CONNECTION_REFUSED
    assert "refused the connection" in result.message


def test_a_server_that_does_not_answer_times_out(settings):
    settings.POSTBACKS_SMTP_TIMEOUT = 0.3
    with SilentServer() as server:
        result = check(server.port)

    assert result.stage == Stage.TIMEOUT
    assert result.message == "The mail server did not answer in time (timeout after 0.3 s)."


def test_an_unknown_host_is_host_not_found(monkeypatch, settings):
    # Resolving a name would ask a DNS server off this machine: answer as a resolver would.
    def no_such_host(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    settings.POSTBACKS_SMTP_ALLOW_PLAINTEXT = True
    result = check(587, smtp_host="mail.nowhere.invalid")

    assert result.stage == Stage.HOST_NOT_FOUND
    assert result.message == "The mail server's host name could not be found."


def test_without_a_workspace_server_the_environment_backend_is_used(settings, mailoutbox):
    from delivery.models import WorkspaceSettings

    result = send_test_email(WorkspaceSettings.load(), "staff@psp.example")

    assert result.ok
    assert "No SMTP server is set" in result.message
    assert mailoutbox[0].to == ["staff@psp.example"]


def test_a_bad_address_is_a_field_error():
    from delivery.models import WorkspaceSettings

    with pytest.raises(ValidationError) as error:
        send_test_email(WorkspaceSettings.load(), "not an address")
    assert error.value.message_dict == {"to": ['"not an address" is not a valid email address.']}
