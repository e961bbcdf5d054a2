import ipaddress
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from customers.events import Event
from postbacks_site.encryption import EncryptedTextField


class Postback(models.Model):
    """One notification owed to one trigger for one order event: the delivery log's entry.

    Written in the same transaction as the order's status change, it is the source of truth
    for what must be delivered (an outbox): a lost queue message delays it, never loses it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (trigger inactive)"

    public_id = models.UUIDField(
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text="Sent as the webhook-id: the same on every retry, so receivers can de-duplicate.",
    )
    trigger = models.ForeignKey(
        "triggers.Trigger", on_delete=models.PROTECT, related_name="postbacks"
    )
    order = models.ForeignKey(
        "customers.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="postbacks",
    )
    order_reference = models.CharField(
        max_length=200, blank=True, db_index=True, help_text="Kept if the order is deleted."
    )
    event = models.CharField(max_length=40, choices=Event.choices)
    event_data = models.JSONField(help_text="The event's data as it was when the event happened.")
    is_test = models.BooleanField(
        "test", default=False, help_text="Sent by Send test, with sample data and no order."
    )

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set while a worker delivers this postback; a claim older than this has been abandoned.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    # When a queue message was last published for it (None: never, e.g. the broker was down).
    enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True)

    # What was rendered, kept so every retry sends exactly the same thing.
    rendered_at = models.DateTimeField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    subject = models.CharField(max_length=1000, blank=True)
    body = models.TextField(blank=True)
    html_body = models.TextField("HTML body", blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="postback_due_idx"),
            # The delivery log's filters, each with its newest-first order.
            models.Index(fields=["status", "-created_at"], name="postback_status_created_idx"),
            models.Index(fields=["event", "-created_at"], name="postback_event_created_idx"),
            models.Index(fields=["trigger", "-created_at"], name="postback_trigger_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} for {self.order_reference or 'sample data'}"


class DeliveryAttempt(models.Model):
    """One try at delivering a postback: what was sent, what came back, how long it took."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Delivered"
        RETRYABLE = "retryable", "Failed, will retry"
        PERMANENT = "permanent", "Failed"

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        MANUAL = "manual", "Manual resend"

    postback = models.ForeignKey(Postback, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SCHEDULED)
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)

    destination = models.CharField(max_length=2000, help_text="URL, or email recipients.")
    remote_address = models.CharField(
        max_length=64, blank=True, help_text="The IP address the request was actually sent to."
    )
    request_method = models.CharField(max_length=10, blank=True)
    request_headers = models.JSONField(default=dict, blank=True)
    request_body = models.TextField(blank=True)

    response_status = models.IntegerField(
        null=True, blank=True, help_text="HTTP status, or the SMTP reply code."
    )
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    response_truncated = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    bodies_removed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the retention task dropped the bodies."
    )

    class Meta:
        ordering = ["postback", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["postback", "number"], name="attempt_number_unique_per_postback"
            )
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} of {self.postback}"


class WorkspaceSettings(models.Model):
    """The workspace's own settings (one row): the SMTP server its emails go out through."""

    class Security(models.TextChoices):
        STARTTLS = "starttls", "STARTTLS (usually port 587)"
        SSL = "ssl", "Implicit TLS / SSL (usually port 465)"
        NONE = "none", "None (unencrypted)"

    sender_email = models.EmailField("sender address", blank=True)
    sender_name = models.CharField(max_length=200, blank=True)
    smtp_host = models.CharField(
        "SMTP host",
        max_length=255,
        blank=True,
        help_text="Leave empty to send through the server configured in the environment.",
    )
    smtp_port = models.PositiveIntegerField("SMTP port", default=587)
    smtp_username = models.CharField("SMTP user name", max_length=255, blank=True)
    smtp_password = EncryptedTextField("SMTP password", blank=True)
    smtp_security = models.CharField(
        "security", max_length=10, choices=Security.choices, default=Security.STARTTLS
    )
    alert_email = models.EmailField(
        "alert address", blank=True, help_text="Where Postbacks sends its own alerts."
    )

    class Meta:
        verbose_name = verbose_name_plural = "workspace settings"

    def __str__(self) -> str:
        return "Workspace settings"

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if not self.smtp_host:
            return
        errors = {}
        if not self.sender_email:
            errors["sender_email"] = (
                "Emails sent through your own SMTP server need a sender address on your domain."
            )
        if not 1 <= self.smtp_port <= 65535:
            errors["smtp_port"] = "Enter a port between 1 and 65535 (usually 587 or 465)."
        if self.smtp_security == self.Security.NONE and not plaintext_smtp_allowed(self.smtp_host):
            errors["smtp_security"] = (
                "Without encryption the password and every email cross the network in clear: "
                "choose STARTTLS or implicit TLS. Unencrypted SMTP is allowed only to a server "
                "on this machine (localhost, 127.0.0.1, ::1), or when the environment sets "
                "POSTBACKS_SMTP_ALLOW_PLAINTEXT."
            )
        if errors:
            raise ValidationError(errors)

    @classmethod
    def load(cls) -> "WorkspaceSettings":
        return cls.objects.get_or_create(pk=1)[0]


def plaintext_smtp_allowed(host: str) -> bool:
    """Unencrypted SMTP never leaves this machine, unless the environment allows it."""
    if settings.POSTBACKS_SMTP_ALLOW_PLAINTEXT or host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class DestinationSlot(models.Model):
    """One of the few concurrent deliveries a destination (scheme, host, port) may receive.

    A worker holds a slot while it waits for that receiver, so a receiver that takes 15 s to
    answer occupies at most ``POSTBACKS_DESTINATION_CONCURRENCY`` workers and every other
    destination keeps flowing. A slot whose lease ran out (its worker died) is free again.
    """

    destination = models.CharField(max_length=300)
    number = models.PositiveSmallIntegerField()
    holder = models.BigIntegerField(null=True, blank=True, help_text="The postback sending.")
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["destination", "number"], name="destination_slot_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.destination} #{self.number}"
