"""The Send-test-email check: the email troubleshooting list, answered by trying it.

Connects to the workspace's mail server, secures the connection, logs in and sends a short
message to an address staff give, then says in plain words how far it got: host not found,
connection refused, timeout, TLS handshake failed, authentication rejected, sender refused,
recipient refused, or sent. Admin's button and the API call ``send_test_email``.
"""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from . import envelopes
from .models import WorkspaceSettings
from .smtp import last_reply
from .smtp_failures import SmtpOutcome, Stage, describe_failure
from .transports import email_message

# What the check reports: ``ok``, ``stage`` (where it ended: ``Stage.SENT`` when it worked),
# ``message`` in plain words, and the server's ``smtp_code`` and ``reply`` when it answered.
EmailCheckResult = SmtpOutcome


def send_test_email(workspace: WorkspaceSettings, to: str) -> EmailCheckResult:
    """Send a test message to ``to`` the way postbacks are sent, and report what happened.

    Always opens a new connection (never a worker's open one), so the check proves the saved
    settings can connect and log in now. Raises ``ValidationError`` on the ``to`` field when it
    is not an email address.
    """
    try:
        validate_email(to)
    except ValidationError:
        raise ValidationError({"to": f'"{to}" is not a valid email address.'}) from None
    connection = envelopes.email_connection(workspace, reuse=False)
    try:
        email_message(envelopes.check_email_request(workspace, to), connection).send()
    except (smtplib.SMTPException, OSError) as error:
        return describe_failure(error)
    code, reply = last_reply(connection)
    if workspace.smtp_host:
        where = f"{workspace.smtp_host}:{workspace.smtp_port} accepted the test message"
    else:
        where = f"No SMTP server is set, so it went through {settings.EMAIL_BACKEND}"
    return EmailCheckResult(Stage.SENT, f"Sent to {to}: {where}.", smtp_code=code, reply=reply)
