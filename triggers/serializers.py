from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers

from postbacks_site.api import ModelCleanSerializer

from . import services
from .masking import masked_header_pairs
from .models import Trigger


class TriggerSerializer(ModelCleanSerializer):
    """A trigger. Its secrets are write-only: the auth password or token and the custom
    header values are never read back (``custom_headers_masked`` shows the header names with
    values masked as in the delivery log); the signing secret is shown once, on creation
    and on rotation.

    Turning ``is_active`` on (a new trigger is active unless it says otherwise) runs the same
    activation check as admin: a trigger whose template does not render its event's sample
    data is refused, with the reasons under ``is_active``.
    """

    custom_headers_masked = serializers.SerializerMethodField()
    auth_secret_set = serializers.SerializerMethodField()

    class Meta:
        model = Trigger
        fields = [
            "id",
            "customer",
            "name",
            "event",
            "template",
            "is_active",
            "delivery_method",
            "url",
            "http_method",
            "email_recipients",
            "retry_on_failure",
            "rate_limit",
            "ordered_delivery",
            "custom_headers",
            "custom_headers_masked",
            "auth_type",
            "auth_username",
            "auth_secret",
            "auth_secret_set",
            "previous_secret_expires_at",
            "failing_since",
            "deactivated_at",
            "deactivation_reason",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "custom_headers": {
                "write_only": True,
                "help_text": "Extra request headers, one 'Name: value' per line. Write-only; "
                "leave out to keep the current ones, send an empty string to remove them.",
            },
            "auth_secret": {
                "write_only": True,
                "help_text": "The Basic password or the Bearer token. Write-only; leave out to "
                "keep the current one.",
            },
        }

    def get_custom_headers_masked(self, trigger: Trigger) -> dict[str, str]:
        return dict(masked_header_pairs(trigger))

    def get_auth_secret_set(self, trigger: Trigger) -> bool:
        return bool(trigger.auth_secret)

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> Trigger:
        activate = validated_data.pop("is_active", True)
        trigger = super().create({**validated_data, "is_active": False})
        if activate:
            _activate(trigger)
        return trigger

    @transaction.atomic
    def update(self, instance: Trigger, validated_data: dict[str, Any]) -> Trigger:
        activate = validated_data.get("is_active") and not instance.is_active
        if activate:
            validated_data.pop("is_active")
        trigger = super().update(instance, validated_data)
        if activate:
            _activate(trigger)
        return trigger


def _activate(trigger: Trigger) -> None:
    try:
        services.set_active(trigger, True)
    except DjangoValidationError as refusal:
        raise serializers.ValidationError({"is_active": refusal.messages}) from refusal


class CreatedTriggerSerializer(TriggerSerializer):
    """The answer to creating a trigger: the only time its signing secret is shown."""

    signing_secret = serializers.CharField(
        read_only=True,
        help_text="whsec_… secret that signs every request. Shown once: store it now.",
    )

    class Meta(TriggerSerializer.Meta):
        fields = [*TriggerSerializer.Meta.fields, "signing_secret"]


class RotatedSecretSerializer(serializers.Serializer):
    signing_secret = serializers.CharField(help_text="The new secret. Shown once: store it now.")
    previous_secret_expires_at = serializers.DateTimeField(
        help_text="Until then requests carry signatures by both the old and the new secret."
    )
