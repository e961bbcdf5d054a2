"""Admin forms for triggers: secrets are write-only, and activation goes through its checks.

A new trigger starts inactive: staff send a test, then activate it (``services.set_active``),
so no trigger sends before its template renders and its destination is valid. An active
trigger that is edited is checked the same way before the change is saved.
"""

from __future__ import annotations

from django import forms
from django.db import models
from django.forms.models import BaseInlineFormSet

from postbacks_site.admin_tools import stored_secret

from .masking import masked_header_pairs
from .models import Trigger
from .services import activation_problems


def https_by_default(db_field: models.Field, **kwargs) -> forms.Field | None:  # type: ignore[no-untyped-def]
    """A URL typed without a scheme is taken as https://, as Django 6 will by default."""
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class NewTriggersStartInactive:
    """Mixed into trigger forms: an unsaved trigger is created inactive."""

    instance: Trigger

    def _start_inactive(self) -> None:
        if self.instance._state.adding:
            self.instance.is_active = False


class TriggerForm(NewTriggersStartInactive, forms.ModelForm):
    auth_secret = forms.CharField(
        label="Password or token",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    custom_headers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )
    remove_custom_headers = forms.BooleanField(label="Remove the custom headers", required=False)

    class Meta:
        model = Trigger
        formfield_callback = https_by_default
        # Not is_active: a trigger is activated by services.set_active, after its checks.
        fields = [
            "customer",
            "name",
            "event",
            "template",
            "delivery_method",
            "url",
            "http_method",
            "email_recipients",
            "retry_on_failure",
            "ordered_delivery",
            "auth_type",
            "auth_username",
            "auth_secret",
            "custom_headers",
        ]

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._start_inactive()
        self.initial.pop("auth_secret", None)
        self.initial.pop("custom_headers", None)
        stored = self.instance.auth_secret
        self.fields["auth_secret"].help_text = (
            f"The Basic password or the Bearer token. Stored: {stored_secret(stored)}; "
            "leave empty to keep it."
            if stored
            else "The Basic password or the Bearer token."
        )
        headers = masked_header_pairs(self.instance)
        current = ", ".join(f"{name}: {value}" for name, value in headers)
        self.fields["custom_headers"].help_text = (
            "Extra request headers, one 'Name: value' per line (e.g. an API key). "
            + (
                f"Stored: {current}. Lines typed here replace them all; leave empty to keep them."
                if headers
                else ""
            )
        )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("auth_type") == Trigger.AuthType.NONE:
            data["auth_secret"] = ""
        elif not data.get("auth_secret"):
            data["auth_secret"] = self.instance.auth_secret
        if data.get("remove_custom_headers"):
            data["custom_headers"] = ""
        elif not data.get("custom_headers"):
            data["custom_headers"] = self.instance.custom_headers
        return data

    def _post_clean(self) -> None:
        super()._post_clean()
        # An active trigger must stay sendable: the same checks as activating it.
        if self.instance.is_active and not self.errors:
            for problem in activation_problems(self.instance):
                self.add_error(None, f"This trigger is active, so it must pass: {problem}")


class NewTriggerForm(NewTriggersStartInactive, forms.ModelForm):
    """The short form on a customer's page: what a trigger needs to be sent a test."""

    class Meta:
        model = Trigger
        formfield_callback = https_by_default
        fields = ["name", "event", "template", "delivery_method", "url", "email_recipients"]
        widgets = {
            "url": forms.URLInput(attrs={"size": 40}),
            "email_recipients": forms.TextInput(attrs={"size": 30}),
        }

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._start_inactive()


class NewTriggerFormSet(BaseInlineFormSet):
    """Adds triggers next to the list of existing ones, under a prefix of its own."""

    @classmethod
    def get_default_prefix(cls) -> str:
        return "new_triggers"
