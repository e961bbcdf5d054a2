"""Wraps a rendered message into the request a transport sends: addresses and headers.

This is the one place that knows both a postback (its identity, its trigger's destination)
and a transport's request type; rendering and transports stay ignorant of each other.
"""

from __future__ import annotations

from email.utils import formataddr

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

from templates_app.rendering import RenderedMessage

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
    sender = workspace.sender_email or settings.DEFAULT_FROM_EMAIL
    return EmailRequest(
        from_email=formataddr((workspace.sender_name, sender)) if workspace.sender_name else sender,
        to=postback.trigger.recipients(),
        subject=message.subject,
        body=message.body,
        html_body=message.html_body,
        headers={"X-Postback-Id": webhook_id(postback)},
    )


def email_connection(workspace: WorkspaceSettings) -> BaseEmailBackend:
    """The workspace's own SMTP server, or the one configured in the environment."""
    if not workspace.smtp_host:
        return get_connection()
    return get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host=workspace.smtp_host,
        port=workspace.smtp_port,
        username=workspace.smtp_username or None,
        password=workspace.smtp_password or None,
        use_tls=workspace.smtp_security == WorkspaceSettings.Security.STARTTLS,
        use_ssl=workspace.smtp_security == WorkspaceSettings.Security.SSL,
        timeout=settings.POSTBACKS_HTTP_TIMEOUT,
    )
