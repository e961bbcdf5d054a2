"""Wraps a rendered message into the request a transport sends: addresses and headers.

This is the one place that knows both a postback (its identity, its trigger's destination)
and a transport's request type; rendering and transports stay ignorant of each other.
"""

from __future__ import annotations

from email.utils import formataddr, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

from templates_app.rendering import RenderedMessage
from triggers.recipients import render_recipients

from . import smtp
from .models import Postback, WorkspaceSettings
from .transports import EmailRequest, WebhookRequest

USER_AGENT = "Postbacks/0.1 (order status webhooks)"


def webhook_request(postback: Postback, message: RenderedMessage) -> WebhookRequest:
    trigger = postback.trigger
    return WebhookRequest(
        url=trigger.url,
        method=trigger.http_method,
        headers={
            "Content-Type": message.content_type,
            "User-Agent": USER_AGENT,
            "webhook-id": webhook_id(postback),
            "webhook-timestamp": str(int(postback.created_at.timestamp())),
        },
        body=message.body.encode("utf-8"),
    )


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
        from_email=_sender(workspace),
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
        from_email=_sender(workspace),
        to=[to],
        subject="Postbacks test email",
        body=(
            "This is a test message from Postbacks. It reached you, so email postbacks can be "
            "sent through this mail server with these settings.\n"
        ),
        headers={"Message-ID": make_msgid("postbacks-test", domain=_sender_domain(workspace))},
    )


def _sender_address(workspace: WorkspaceSettings) -> str:
    return workspace.sender_email or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def _sender(workspace: WorkspaceSettings) -> str:
    """``"Sender Name" <sender@psp>``, or the environment's DEFAULT_FROM_EMAIL as it is."""
    if not workspace.sender_email:
        return settings.DEFAULT_FROM_EMAIL
    return formataddr((workspace.sender_name, workspace.sender_email))


def _sender_domain(workspace: WorkspaceSettings) -> str:
    return _sender_address(workspace).rpartition("@")[2] or "localhost"


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
