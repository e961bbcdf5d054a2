"""What went wrong talking to a mail server, in the words of the email troubleshooting list.

One reading of smtplib's and the socket layer's exceptions serves both the delivery log (an
attempt's error, and whether it is worth retrying) and the Send-test-email check (which step
failed). It quotes the server's reply, never the credentials sent.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings


class Stage(StrEnum):
    """Where a conversation with the mail server ended, named by what happened there."""

    HOST_NOT_FOUND = "host_not_found"
    CONNECTION_REFUSED = "connection_refused"
    TIMEOUT = "timeout"
    TLS_FAILED = "tls_failed"
    NOT_SUPPORTED = "not_supported"
    AUTH_REJECTED = "auth_rejected"
    SENDER_REFUSED = "sender_refused"
    RECIPIENT_REFUSED = "recipient_refused"
    MESSAGE_REFUSED = "message_refused"
    DISCONNECTED = "disconnected"
    NETWORK_ERROR = "network_error"
    SENT = "sent"


@dataclass(frozen=True)
class SmtpOutcome:
    """How a conversation with a mail server ended, and whether trying later may help."""

    stage: Stage
    message: str
    temporary: bool = False
    smtp_code: int | None = None
    reply: str = ""

    @property
    def ok(self) -> bool:
        return self.stage == Stage.SENT


def describe_failure(error: OSError) -> SmtpOutcome:
    """Plain words for ``error``; 4xx replies and network trouble are temporary, 5xx are not."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return _recipients_refused(error)
    if isinstance(error, smtplib.SMTPResponseException):
        return _refused(error)
    if isinstance(error, smtplib.SMTPNotSupportedError):
        what = "STARTTLS" if "STARTTLS" in str(error) else "authentication (AUTH)"
        return SmtpOutcome(
            Stage.NOT_SUPPORTED,
            f"The mail server does not offer {what} on this connection: check the security "
            "mode and the port.",
            temporary=False,
        )
    if isinstance(error, smtplib.SMTPServerDisconnected):
        # smtplib reports a reply that never came as a disconnection; the cause says why.
        if isinstance(error.__context__, OSError):
            return _network_failure(error.__context__)
        return SmtpOutcome(
            Stage.DISCONNECTED,
            "The mail server closed the connection unexpectedly (is the security mode right "
            "for this port?).",
            temporary=True,
        )
    return _network_failure(error)


def _recipients_refused(error: smtplib.SMTPRecipientsRefused) -> SmtpOutcome:
    refusals = {
        address: (code, _text(reply)) for address, (code, reply) in error.recipients.items()
    }
    code, reply = next(iter(refusals.values()))
    listed = "; ".join(f"{address} ({code} {text})" for address, (code, text) in refusals.items())
    return SmtpOutcome(
        Stage.RECIPIENT_REFUSED,
        f"The mail server refused the recipient: {listed}",
        # Worth another try if any refusal was "not now": nobody got the message.
        temporary=any(400 <= code < 500 for code, _ in refusals.values()),
        smtp_code=code,
        reply=reply,
    )


def _refused(error: smtplib.SMTPResponseException) -> SmtpOutcome:
    reply = _text(error.smtp_error)
    if isinstance(error, smtplib.SMTPAuthenticationError):
        stage, what = Stage.AUTH_REJECTED, "The mail server rejected the user name or password"
    elif isinstance(error, smtplib.SMTPSenderRefused):
        stage, what = Stage.SENDER_REFUSED, f"The mail server refused the sender {error.sender}"
    elif isinstance(error, smtplib.SMTPConnectError | smtplib.SMTPHeloError):
        stage, what = Stage.CONNECTION_REFUSED, "The mail server refused the session"
    else:
        stage, what = Stage.MESSAGE_REFUSED, "The mail server refused the message"
    return SmtpOutcome(
        stage,
        f"{what}: {error.smtp_code} {reply}",
        temporary=400 <= error.smtp_code < 500,
        smtp_code=error.smtp_code,
        reply=reply,
    )


def _network_failure(error: OSError) -> SmtpOutcome:
    if isinstance(error, socket.gaierror):
        stage, message = Stage.HOST_NOT_FOUND, "The mail server's host name could not be found."
    elif isinstance(error, ConnectionRefusedError):
        stage, message = (
            Stage.CONNECTION_REFUSED,
            "The mail server refused the connection (nothing listening at that port).",
        )
    elif isinstance(error, TimeoutError):
        stage, message = (
            Stage.TIMEOUT,
            "The mail server did not answer in time "
            f"(timeout after {settings.POSTBACKS_SMTP_TIMEOUT:g} s).",
        )
    elif isinstance(error, ssl.SSLCertVerificationError):
        stage, message = (
            Stage.TLS_FAILED,
            "The TLS handshake with the mail server failed: its certificate is not trusted "
            f"({error.verify_message}). A certificate from a private CA needs "
            "POSTBACKS_SMTP_CA_FILE.",
        )
    elif isinstance(error, ssl.SSLError):
        stage, message = (
            Stage.TLS_FAILED,
            f"The TLS handshake with the mail server failed: {error.reason or error}.",
        )
    else:
        stage, message = Stage.NETWORK_ERROR, f"Could not talk to the mail server: {error}"
    return SmtpOutcome(stage, message, temporary=True)


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
