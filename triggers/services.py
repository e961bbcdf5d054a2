"""Changes to triggers made by the system: secret rotation and endpoint health.

Health changes are single conditional UPDATEs, so of many workers recording failures at the
same moment exactly one sees "started failing" or "deactivated" (and one alert goes out).
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from delivery.signing import new_secret

from .models import Trigger


def activation_problems(trigger: Trigger) -> list[str]:
    """Why ``trigger`` cannot be activated, in words for staff; empty when it can.

    Its fields must be valid (destination, template kind, headers) and its template must
    render the trigger's event sample data without errors and be active.
    """
    from templates_app.services import render_preview

    try:
        trigger.full_clean()
    except ValidationError as error:
        return [f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()]
    problems = []
    if not trigger.template.is_active:
        problems.append(f"The template “{trigger.template}” is inactive.")
    result = render_preview(
        trigger.template,
        event=trigger.event,
        customer_id=trigger.customer_id,
        lookup_misses_fail=False,  # sample codes are nobody's: a miss is not the template's fault
    )
    if not result.ok:
        problems.append(
            f"The template does not render the {trigger.get_event_display().lower()} sample "
            f"data: {result.error_text()}"
        )
    return problems


def set_active(trigger: Trigger, active: bool) -> None:
    """Activate (after checking ``activation_problems``) or deactivate a trigger.

    Raises ``ValidationError`` listing the problems when it cannot be activated.
    """
    if active:
        problems = activation_problems(trigger)
        if problems:
            raise ValidationError(problems)
    trigger.is_active = active
    trigger.save()


class HealthChange(enum.Enum):
    STARTED_FAILING = "started failing"
    DEACTIVATED = "deactivated"
    RECOVERED = "recovered"


@transaction.atomic
def rotate_signing_secret(trigger: Trigger, now: datetime) -> str:
    """Give the trigger a new secret and return it (shown once). The old one keeps signing
    alongside for ``POSTBACKS_SECRET_ROTATION_OVERLAP`` seconds."""
    trigger = Trigger.objects.select_for_update().get(pk=trigger.pk)
    trigger.previous_signing_secret = trigger.signing_secret
    trigger.previous_secret_expires_at = now + timedelta(
        seconds=settings.POSTBACKS_SECRET_ROTATION_OVERLAP
    )
    trigger.signing_secret = new_secret()
    trigger.save(
        update_fields=["signing_secret", "previous_signing_secret", "previous_secret_expires_at"]
    )
    return trigger.signing_secret


def record_success(trigger_id: int) -> HealthChange | None:
    recovered = Trigger.objects.filter(pk=trigger_id, failing_since__isnull=False).update(
        failing_since=None
    )
    return HealthChange.RECOVERED if recovered else None


def record_failure(trigger_id: int, now: datetime) -> HealthChange | None:
    """Note a failed delivery; deactivate a trigger that has done nothing but fail for
    ``POSTBACKS_DEACTIVATE_AFTER`` seconds."""
    if Trigger.objects.filter(pk=trigger_id, failing_since__isnull=True).update(failing_since=now):
        return HealthChange.STARTED_FAILING
    window = timedelta(seconds=settings.POSTBACKS_DEACTIVATE_AFTER)
    failing = (
        Trigger.objects.filter(pk=trigger_id, is_active=True, failing_since__lte=now - window)
        .values_list("failing_since", flat=True)
        .first()
    )
    if failing is None:
        return None
    reason = (
        f"Deactivated automatically: every delivery failed for "
        f"{window.total_seconds() / 86400:g} days, since {failing:%Y-%m-%d %H:%M} UTC."
    )
    return HealthChange.DEACTIVATED if deactivate(trigger_id, reason, now) else None


def deactivate(trigger_id: int, reason: str, now: datetime) -> bool:
    """Deactivate an active trigger and record why; False if it was inactive already."""
    return bool(
        Trigger.objects.filter(pk=trigger_id, is_active=True).update(
            is_active=False, deactivated_at=now, deactivation_reason=reason
        )
    )
