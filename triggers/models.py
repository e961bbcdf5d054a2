import re

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, URLValidator
from django.db import models

from customers.events import Event
from delivery.network import DestinationRefused, check_url
from delivery.signing import new_secret
from postbacks_site.encryption import EncryptedTextField
from templates_app.models import Template

from . import recipients

# Headers Postbacks sets itself; a trigger's custom headers may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "user-agent",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "transfer-encoding",
        "connection",
    }
)


class Trigger(models.Model):
    """When a customer's order raises ``event``: render ``template``, send it to a destination."""

    class DeliveryMethod(models.TextChoices):
        WEBHOOK = "webhook", "Webhook (URL)"
        EMAIL = "email", "Email"

    class HttpMethod(models.TextChoices):
        POST = "POST", "POST"
        PUT = "PUT", "PUT"
        PATCH = "PATCH", "PATCH"

    class AuthType(models.TextChoices):
        NONE = "none", "None"
        BASIC = "basic", "HTTP Basic"
        BEARER = "bearer", "Bearer token"

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="triggers"
    )
    name = models.CharField(max_length=200, help_text="What this trigger is for, in your words.")
    event = models.CharField(max_length=40, choices=Event.choices)
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="triggers")
    delivery_method = models.CharField(
        max_length=10, choices=DeliveryMethod.choices, default=DeliveryMethod.WEBHOOK
    )
    url = models.URLField(
        "URL", max_length=2000, blank=True, help_text="Webhooks: where the postback is sent."
    )
    http_method = models.CharField(
        "HTTP method", max_length=10, choices=HttpMethod.choices, default=HttpMethod.POST
    )
    email_recipients = models.TextField(
        blank=True,
        help_text=(
            "Email: one or more addresses, separated by commas. Any of them may come from the "
            "event's data, e.g. {{ customer.email }} or {{ shippingAddress.email }}."
        ),
    )
    retry_on_failure = models.BooleanField(
        default=True, help_text="Retry a failed delivery on the published backoff schedule."
    )
    rate_limit = models.FloatField(
        "rate limit (requests per second)",
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01)],
        help_text="For receivers that ask for one: at most this many requests per second.",
    )
    next_send_at = models.DateTimeField(null=True, blank=True, editable=False)
    ordered_delivery = models.BooleanField(
        default=False,
        help_text=(
            "Deliver an order's postbacks one at a time, in the order they happened: a later "
            "one waits until the earlier ones are delivered or given up."
        ),
    )
    custom_headers = EncryptedTextField(
        blank=True,
        help_text="Extra request headers, one 'Name: value' per line (e.g. an API key).",
    )
    auth_type = models.CharField(
        "authentication", max_length=10, choices=AuthType.choices, default=AuthType.NONE
    )
    auth_username = models.CharField("user name", max_length=200, blank=True)
    auth_secret = EncryptedTextField(
        "password or token", blank=True, help_text="The Basic password or the Bearer token."
    )
    signing_secret = EncryptedTextField(
        default=new_secret, editable=False, help_text="whsec_… secret that signs every request."
    )
    previous_signing_secret = EncryptedTextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    is_active = models.BooleanField("active", default=True)
    failing_since = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Start of the current run of failed deliveries (empty when healthy).",
    )
    deactivated_at = models.DateTimeField(null=True, blank=True, editable=False)
    deactivation_reason = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer__name", "name"]
        indexes = [models.Index(fields=["customer", "event", "is_active"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer})"

    def save(self, *args, **kwargs) -> None:
        if self.is_active and self.deactivated_at:
            # Staff turned it back on: start with a clean record.
            self.deactivated_at, self.deactivation_reason, self.failing_since = None, "", None
        super().save(*args, **kwargs)

    @property
    def format(self) -> str:
        """The body format, which is the template's: its escaping and checks depend on it."""
        return self.template.format

    def header_pairs(self) -> list[tuple[str, str]]:
        """The custom headers as (name, value) pairs; ``clean`` has checked their syntax."""
        pairs = []
        for line in self.custom_headers.splitlines():
            if line.strip():
                name, _, value = line.partition(":")
                pairs.append((name.strip(), value.strip()))
        return pairs

    def signing_secrets(self, now) -> list[str]:  # type: ignore[no-untyped-def]
        """The secrets that sign a request now: the current one, and the previous one while
        its overlap period after a rotation lasts."""
        secrets = [self.signing_secret] if self.signing_secret else []
        if (
            self.previous_signing_secret
            and self.previous_secret_expires_at
            and (now < self.previous_secret_expires_at)
        ):
            secrets.append(self.previous_signing_secret)
        return secrets

    def clean(self) -> None:
        errors: dict[str, str | list[str]] = {}
        if self.delivery_method == self.DeliveryMethod.WEBHOOK:
            if not self.url:
                errors["url"] = "A webhook trigger needs the URL to send postbacks to."
            else:
                try:
                    URLValidator(schemes=["http", "https"])(self.url)
                    check_url(self.url)
                except ValidationError:
                    errors["url"] = "Enter an http:// or https:// URL."
                except DestinationRefused as refusal:
                    errors["url"] = str(refusal)
            header_error = self._custom_headers_error()
            if header_error:
                errors["custom_headers"] = header_error
            if self.auth_type != self.AuthType.NONE and not self.auth_secret:
                errors["auth_secret"] = "Enter the password or token for this authentication."
            if self.auth_type == self.AuthType.BASIC and not self.auth_username:
                errors["auth_username"] = "HTTP Basic authentication needs a user name."
            if self.auth_type == self.AuthType.BASIC and ":" in self.auth_username:
                errors["auth_username"] = "A Basic user name cannot contain a colon."
        else:
            recipient_errors = recipients.field_errors(self.email_recipients)
            if recipient_errors:
                errors["email_recipients"] = recipient_errors
        if self.template_id is not None:
            expected = (
                Template.Kind.WEBHOOK
                if self.delivery_method == self.DeliveryMethod.WEBHOOK
                else Template.Kind.EMAIL
            )
            if self.template.kind != expected:
                errors["template"] = (
                    f"This trigger sends by {self.get_delivery_method_display().lower()}, "
                    f"so it needs a {Template.Kind(expected).label.lower()} template; "
                    f'"{self.template}" is a {self.template.get_kind_display().lower()} template.'
                )
        if errors:
            raise ValidationError(errors)

    def _custom_headers_error(self) -> str | None:
        for number, line in enumerate(self.custom_headers.splitlines(), start=1):
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            name = name.strip()
            if not colon or not _HEADER_NAME.fullmatch(name):
                return f"Line {number}: write each header as 'Name: value'."
            if name.lower() in RESERVED_HEADERS or (
                name.lower() == "authorization" and self.auth_type != self.AuthType.NONE
            ):
                return f"Line {number}: {name} is set by Postbacks and cannot be replaced."
            if any(ord(char) < 32 and char != "\t" for char in value):
                return f"Line {number}: header values cannot hold control characters."
        return None


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
