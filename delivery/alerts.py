"""Emails to the PSP's staff about their triggers, at the workspace's alert address."""

from __future__ import annotations

import logging

from django.core.mail import EmailMessage
from django.db import transaction

from triggers.models import Trigger
from triggers.services import HealthChange

from .envelopes import email_connection, sender_address
from .models import WorkspaceSettings

logger = logging.getLogger(__name__)

_SUBJECTS = {
    HealthChange.STARTED_FAILING: "Postbacks: trigger “{trigger}” started failing",
    HealthChange.DEACTIVATED: "Postbacks: trigger “{trigger}” was deactivated",
    HealthChange.RECOVERED: "Postbacks: trigger “{trigger}” recovered",
}


def alert_health_change(trigger: Trigger, change: HealthChange, detail: str) -> None:
    """Queue an alert email once the current transaction commits."""
    from .tasks import send_alert

    subject = _SUBJECTS[change].format(trigger=trigger.name)
    body = (
        f"Trigger: {trigger.name}\n"
        f"Customer: {trigger.customer}\n"
        f"Destination: {trigger.url or trigger.email_recipients}\n\n"
        f"{detail}\n"
    )
    transaction.on_commit(lambda: send_alert.delay(subject, body))


def send_alert_now(subject: str, body: str) -> bool:
    """Send one alert email; False when the workspace has no alert address."""
    workspace = WorkspaceSettings.load()
    if not workspace.alert_email:
        logger.warning("No alert address in workspace settings; not sent: %s", subject)
        return False
    EmailMessage(
        subject=subject,
        body=body,
        from_email=sender_address(workspace),
        to=[workspace.alert_email],
        connection=email_connection(workspace),
    ).send()
    return True
