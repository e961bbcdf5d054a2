from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models

from customers.events import Event
from templates_app.models import Template

from . import recipients


class Trigger(models.Model):
    """When a customer's order raises ``event``: render ``template``, send it to a destination."""

    class DeliveryMethod(models.TextChoices):
        WEBHOOK = "webhook", "Webhook (URL)"
        EMAIL = "email", "Email"

    class HttpMethod(models.TextChoices):
        POST = "POST", "POST"
        PUT = "PUT", "PUT"
        PATCH = "PATCH", "PATCH"

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
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer__name", "name"]
        indexes = [models.Index(fields=["customer", "event", "is_active"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer})"

    @property
    def format(self) -> str:
        """The body format, which is the template's: its escaping and checks depend on it."""
        return self.template.format

    def clean(self) -> None:
        errors: dict[str, str | list[str]] = {}
        if self.delivery_method == self.DeliveryMethod.WEBHOOK:
            if not self.url:
                errors["url"] = "A webhook trigger needs the URL to send postbacks to."
            else:
                try:
                    URLValidator(schemes=["http", "https"])(self.url)
                except ValidationError:
                    errors["url"] = "Enter an http:// or https:// URL."
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
