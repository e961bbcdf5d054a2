"""Wraps a rendered message into the request a transport sends: addresses and headers.

This is the one place that knows both a postback (its identity, its trigger's destination)
and a transport's request type; rendering and transports stay ignorant of each other.
"""

from __future__ import annotations

import base64
from datetime import datetime
from email.utils import formataddr, make_msgid, parseaddr
from importlib.metadata import PackageNotFoundError, version

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

from templates_app.rendering import RenderedMessage
from triggers.masking import HIDDEN, mask_value
from triggers.models import Trigger
from triggers.recipients import render_recipients

from . import smtp
from .models import Postback, WorkspaceSettings
from .signing import sign
from .transports import EmailRequest, WebhookRequest

try:
    _VERSION = version("postbacks")
except PackageNotFoundError:  # running from a checkout that was never pip-installed
    _VERSION = "dev"
USER_AGENT = f"Postbacks/{_VERSION} (order status webhooks)"


def webhook_request(postback: Postback, message: RenderedMessage, now: datetime) -> WebhookRequest:
    """The HTTP request for one attempt, signed at ``now`` (receivers reject old timestamps)."""
    trigger = postback.trigger
    message_id = webhook_id(postback)
    timestamp = int(now.timestamp())
    body = message.body.encode("utf-8")
    headers = {
        "Content-Type": message.content_type,
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
    }
    signing_secrets = trigger.signing_secrets(now)
    if signing_secrets:
        headers["webhook-signature"] = sign(signing_secrets, message_id, timestamp, body)
    headers.update(trigger.header_pairs())
    if trigger.auth_type == Trigger.AuthType.BASIC:
        credentials = f"{trigger.auth_username}:{trigger.auth_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
    elif trigger.auth_type == Trigger.AuthType.BEARER:
        headers["Authorization"] = f"Bearer {trigger.auth_secret}"
    return WebhookRequest(url=trigger.url, method=trigger.http_method, headers=headers, body=body)


def masked_headers(trigger: Trigger, headers: dict[str, str]) -> dict[str, str]:
    """``headers`` as the delivery log shows them: credentials hidden, custom header values
    (often API keys) masked by ``triggers.masking.mask_value``."""
    custom = {name.lower() for name, _ in trigger.header_pairs()}
    shown = {}
    for name, value in headers.items():
        if name.lower() == "authorization":
            value = f"{value.split(' ', 1)[0]} {HIDDEN}"
        elif name.lower() in custom:
            value = mask_value(value)
        shown[name] = value
    return shown


def webhook_id(postback: Postback) -> str:
    """The postback's identity for receivers: the same on every retry and resend."""
    return f"msg_{postback.public_id.hex}"


def email_request(
    postback: Postback, message: RenderedMessage, workspace: WorkspaceSettings
) -> EmailRequest:
    """The email for a postback: its recipients computed from the event, traceable headers.

    The Message-ID is on the sender's domain and the same for every retry and resend of one
    postback, like the webhook-id; ``X-Postback-Id`` carries that id for replies and bounces.
    """
    trigger = postback.trigger
    recipients = render_recipients(
        trigger.email_recipients, postback.event_data, customer_id=trigger.customer_id
    )
    identity = webhook_id(postback)
    return EmailRequest(
        from_email=sender_address(workspace),
        to=recipients.addresses,
        subject=message.subject,
        body=message.body,
        html_body=message.html_body,
        headers={
            "Message-ID": f"<{identity}@{_sender_domain(workspace)}>",
            "X-Postback-Id": identity,
        },
        problem=recipients.problem,
    )


def check_email_request(workspace: WorkspaceSettings, to: str) -> EmailRequest:
    """The message the Send-test-email check sends: from the sender real postbacks use."""
    return EmailRequest(
        from_email=sender_address(workspace),
        to=[to],
        subject="Postbacks test email",
        body=(
            "This is a test message from Postbacks. It reached you, so email postbacks can be "
            "sent through this mail server with these settings.\n"
        ),
        headers={"Message-ID": make_msgid("postbacks-test", domain=_sender_domain(workspace))},
    )


def _sender_email(workspace: WorkspaceSettings) -> str:
    return workspace.sender_email or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def sender_address(workspace: WorkspaceSettings) -> str:
    """``"Sender Name" <sender@psp>``, or the environment's DEFAULT_FROM_EMAIL as it is."""
    if not workspace.sender_email:
        return settings.DEFAULT_FROM_EMAIL
    return formataddr((workspace.sender_name, workspace.sender_email))


def _sender_domain(workspace: WorkspaceSettings) -> str:
    return _sender_email(workspace).rpartition("@")[2] or "localhost"


def email_connection(workspace: WorkspaceSettings, *, reuse: bool = True) -> BaseEmailBackend:
    """The workspace's own SMTP server, or the one configured in the environment.

    With ``reuse`` this thread's open connection to that server is used when there is one (see
    ``delivery.smtp``); without it, a new connection is opened for the send and closed after.
    """
    if not workspace.smtp_host:
        return get_connection()
    params = {
        "host": workspace.smtp_host,
        "port": workspace.smtp_port,
        "username": workspace.smtp_username,
        "password": workspace.smtp_password,
        "use_tls": workspace.smtp_security == WorkspaceSettings.Security.STARTTLS,
        "use_ssl": workspace.smtp_security == WorkspaceSettings.Security.SSL,
        "timeout": settings.POSTBACKS_SMTP_TIMEOUT,
    }
    return smtp.reusable_backend(**params) if reuse else smtp.SMTPBackend(**params)
