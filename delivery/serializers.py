from rest_framework import serializers

from postbacks_site.api import ModelCleanSerializer

from .models import DeliveryAttempt, Postback, WorkspaceSettings
from .smtp_failures import Stage


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    """One try at delivering a postback; credentials in the request headers are masked."""

    class Meta:
        model = DeliveryAttempt
        exclude = ["postback"]


class PostbackSerializer(serializers.ModelSerializer):
    """A delivery log entry, without its attempts (see the postback itself for those)."""

    customer = serializers.IntegerField(source="trigger.customer_id", read_only=True)

    class Meta:
        model = Postback
        exclude = ["claimed_until", "enqueued_at"]


class PostbackDetailSerializer(PostbackSerializer):
    attempts = DeliveryAttemptSerializer(many=True, read_only=True)


class QueuedSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="How many postbacks were queued for an attempt.")


class WorkspaceSettingsSerializer(ModelCleanSerializer):
    """The workspace's email settings. The SMTP password is write-only: leave it out (or send
    an empty string) to keep the stored one; ``smtp_password_set`` says whether there is one."""

    smtp_password_set = serializers.SerializerMethodField()

    class Meta:
        model = WorkspaceSettings
        exclude = ["id"]
        extra_kwargs = {"smtp_password": {"write_only": True}}

    def get_smtp_password_set(self, workspace: WorkspaceSettings) -> bool:
        return bool(workspace.smtp_password)

    def validate_smtp_password(self, password: str) -> str:
        return password or self.instance.smtp_password


class TestEmailSerializer(serializers.Serializer):
    to = serializers.EmailField(help_text="Where to send the test message.")


class TestEmailResultSerializer(serializers.Serializer):
    """``delivery.email_check.EmailCheckResult``: how far the check got, in plain words."""

    ok = serializers.BooleanField()
    stage = serializers.ChoiceField(
        choices=[stage.value for stage in Stage], help_text="Where it ended; `sent` when it worked."
    )
    message = serializers.CharField()
    smtp_code = serializers.IntegerField(allow_null=True, help_text="The server's last reply code.")
    reply = serializers.CharField(allow_blank=True, help_text="The server's last reply text.")
