"""Admin forms for the Render step and the CSV import of lookup tables."""

from __future__ import annotations

from django import forms
from django.forms.models import fields_for_model

from customers.events import Event
from customers.models import Customer

from .models import Template

# The Template fields that decide what a render produces; Render posts their unsaved values.
RENDERED_FIELDS = ["kind", "format", "subject", "body", "html_body", "strict_undefined"]


class RenderInputForm(forms.Form):
    """The data to render a template with: an event's sample, or pasted JSON."""

    render_event = forms.ChoiceField(
        label="Sample data of",
        choices=[("", "the template's event"), *Event.choices],
        required=False,
    )
    render_customer = forms.ModelChoiceField(
        label="Lookups of customer",
        queryset=Customer.objects.all(),
        required=False,
        empty_label="workspace-wide tables only",
    )
    render_data = forms.CharField(
        label="Or paste data (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "vLargeTextField"}),
        help_text="Used instead of the sample data when filled in.",
    )


class RenderForm(RenderInputForm):
    """What the Render button posts: the input data plus the template's current text."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields.update(fields_for_model(Template, fields=[*RENDERED_FIELDS, "event"]))

    def unsaved_template(self) -> Template:
        """A Template built from the posted fields, never saved."""
        values = {name: self.cleaned_data[name] for name in [*RENDERED_FIELDS, "event"]}
        return Template(**values)


class LookupCsvImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Two columns, key and value; a key,value header line is optional.",
    )
    replace = forms.BooleanField(
        label="Replace the table's rows",
        required=False,
        initial=True,
        help_text="Off: keep the other rows and update those whose key is in the file.",
    )
