"""Wraps a rendered message into the request a transport sends: addresses and headers.

This is the one place that knows both a postback (its identity, its trigger's destination)
and a transport's request type; rendering and transports stay ignorant of each other.
"""

from __future__ import annotations

import base64
from datetime import datetime
from email.utils import formataddr
from importlib.metadata import PackageNotFoundError, version

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

from templates_app.rendering import RenderedMessage
from triggers.models import Trigger

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
    (often API keys) reduced to their last four characters when long enough to spare them."""
    custom = {name.lower() for name, _ in trigger.header_pairs()}
    shown = {}
    for name, value in headers.items():
        if name.lower() == "authorization":
            value = value.split(" ", 1)[0] + " ****"
        elif name.lower() in custom:
            value = "****" + value[-4:] if len(value) >= 16 else "****"
        shown[name] = value
    return shown


def webhook_id(postback: Postback) -> str:
    """The postback's identity for receivers: the same on every retry and resend."""
    return f"msg_{postback.public_id.hex}"


def email_request(
    postback: Postback, message: RenderedMessage, workspace: WorkspaceSettings
) -> EmailRequest:
    return EmailRequest(
        from_email=sender_address(workspace),
        to=postback.trigger.recipients(),
        subject=message.subject,
        body=message.body,
        html_body=message.html_body,
        headers={"X-Postback-Id": webhook_id(postback)},
    )


def sender_address(workspace: WorkspaceSettings) -> str:
    """``"Sender Name" <sender@psp>``, from the workspace settings or the environment."""
    sender = workspace.sender_email or settings.DEFAULT_FROM_EMAIL
    return formataddr((workspace.sender_name, sender)) if workspace.sender_name else sender


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
