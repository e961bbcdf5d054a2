from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from customers.events import Event


class Template(models.Model):
    """A Jinja2 template that turns an event's data into what a postback sends."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        EMAIL = "email", "Email"

    class Format(models.TextChoices):
        JSON = "json", "JSON"
        XML = "xml", "XML"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WEBHOOK)
    format = models.CharField(
        max_length=10,
        choices=Format.choices,
        default=Format.JSON,
        help_text="What a webhook template produces; its output is checked to be valid.",
    )
    subject = models.CharField(
        max_length=500, blank=True, help_text="Email templates only: the subject line."
    )
    body = models.TextField(
        help_text="The webhook body, or the plain-text body of an email.",
    )
    html_body = models.TextField(
        "HTML body",
        blank=True,
        help_text="Email templates only, optional: sent together with the plain-text body.",
    )
    event = models.CharField(
        max_length=40,
        choices=Event.choices,
        blank=True,
        help_text=(
            "The event this template is written for: Render uses its sample data by default, "
            "and an active template must render that sample without errors."
        ),
    )
    strict_undefined = models.BooleanField(
        "fail on undefined names",
        default=True,
        help_text=(
            "On: a delivery whose template uses a name the event data lacks fails instead "
            "of sending. Off: such names render as empty text."
        ),
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from .rendering import syntax_errors

        errors: dict[str, list[str]] = {}
        if self.kind == self.Kind.EMAIL and not self.subject.strip():
            errors.setdefault("subject", []).append("An email template needs a subject.")
        if self.kind == self.Kind.WEBHOOK and self.subject.strip():
            errors.setdefault("subject", []).append("Only email templates have a subject.")
        if self.kind == self.Kind.WEBHOOK and self.html_body.strip():
            errors.setdefault("html_body", []).append("Only email templates have an HTML body.")
        for field, source in self.sources().items():
            errors.setdefault(field, []).extend(syntax_errors(source))
        errors = {field: messages for field, messages in errors.items() if messages}
        if not errors and self.is_active and self.event:
            errors = self._sample_render_errors()
        if errors:
            raise ValidationError(errors)

    def _sample_render_errors(self) -> dict[str, list[str]]:
        """Why this template cannot be active: what fails when it renders its event's sample.

        Lookup misses do not count: the sample's codes are not any real customer's.
        """
        from .services import render_preview

        errors: dict[str, list[str]] = {}
        label = Event(self.event).label
        for problem in render_preview(self, lookup_misses_fail=False).errors:
            where = f"line {problem.line}: " if problem.line else ""
            errors.setdefault(problem.field, []).append(
                f'Cannot be active: rendering the sample data of "{label}" fails: '
                f"{where}{problem.message}"
            )
        return errors

    def sources(self) -> dict[str, str]:
        """The template texts to render, by field name; empty optional parts left out."""
        parts = {"body": self.body}
        if self.kind == self.Kind.EMAIL:
            parts["subject"] = self.subject
            if self.html_body.strip():
                parts["html_body"] = self.html_body
        return parts


class LookupTable(models.Model):
    """Translates a code of the PSP's into a value the customer knows, inside templates.

    A table without a customer is workspace-wide: it answers for every customer that has no
    table of its own for the same template field.
    """

    name = models.CharField(max_length=200)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="lookup_tables",
        help_text="Leave empty for a workspace-wide table used when a customer has none.",
    )
    template_field = models.CharField(
        max_length=100,
        help_text='The name templates use: lookups({"shipmentMethodUid": ...}).',
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "template_field"],
                condition=Q(customer__isnull=False),
                name="lookup_field_unique_per_customer",
                violation_error_message="This customer already has a table for that field.",
            ),
            models.UniqueConstraint(
                fields=["template_field"],
                condition=Q(customer__isnull=True),
                name="lookup_field_unique_workspace_wide",
                violation_error_message="There is already a workspace-wide table for that field.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.template_field})"


class LookupEntry(models.Model):
    table = models.ForeignKey(LookupTable, on_delete=models.CASCADE, related_name="entries")
    key = models.CharField(max_length=500)
    value = models.TextField(blank=True)

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "lookup entries"
        constraints = [
            models.UniqueConstraint(fields=["table", "key"], name="lookup_key_unique_per_table")
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.value}"
