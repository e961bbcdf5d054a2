from rest_framework import serializers

from customers.events import Event
from customers.models import Customer
from postbacks_site.api import ModelCleanSerializer

from .models import LookupEntry, LookupTable, Template


class TemplateSerializer(ModelCleanSerializer):
    """A template; saving runs the model's checks: syntax with line numbers, and for an active
    template with an event, a render of that event's sample data."""

    class Meta:
        model = Template
        fields = [
            "id",
            "name",
            "kind",
            "format",
            "event",
            "strict_undefined",
            "is_active",
            "subject",
            "body",
            "html_body",
            "created_at",
            "updated_at",
        ]


class RenderInputSerializer(serializers.Serializer):
    """What to render a template with: ``data``, or else the sample data of ``event`` (by
    default the template's own event)."""

    event = serializers.ChoiceField(
        choices=Event.choices,
        required=False,
        help_text="Render this event's sample data (ignored when `data` is given).",
    )
    data = serializers.DictField(
        required=False, help_text="The event data to render, as a delivery would see it."
    )
    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(),
        required=False,
        allow_null=True,
        help_text="Use this customer's lookup tables; without it, workspace-wide tables only.",
    )


class RenderedMessageSerializer(serializers.Serializer):
    content_type = serializers.CharField()
    body = serializers.CharField()
    subject = serializers.CharField()
    html_body = serializers.CharField()


class RenderProblemSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="body, subject, html_body, or data.")
    message = serializers.CharField()
    line = serializers.IntegerField(allow_null=True, help_text="Line of the template, if known.")


class RenderResultSerializer(serializers.Serializer):
    """``templates_app.rendering.RenderResult``: what a postback would send, or why not."""

    ok = serializers.BooleanField(help_text="True when the template rendered without errors.")
    message = RenderedMessageSerializer(
        allow_null=True, help_text="What would be sent; null when rendering failed."
    )
    parts = serializers.DictField(
        child=serializers.CharField(),
        help_text="The text each part rendered to, also when a later check failed.",
    )
    errors = RenderProblemSerializer(many=True)
    undefined = serializers.ListField(
        child=serializers.CharField(), help_text="Names the template used that the data lacks."
    )
    notices = serializers.ListField(child=serializers.CharField())


class LookupTableSerializer(ModelCleanSerializer):
    entry_count = serializers.IntegerField(
        source="entries.count", read_only=True, help_text="How many rows the table has."
    )

    class Meta:
        model = LookupTable
        fields = ["id", "name", "customer", "template_field", "description", "entry_count"]


class LookupEntrySerializer(ModelCleanSerializer):
    class Meta:
        model = LookupEntry
        fields = ["id", "table", "key", "value"]


class LookupCsvImportSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=(
            "UTF-8 CSV with two columns, key and value (comma, semicolon or tab separated); "
            "a key,value header line is optional."
        )
    )
    replace = serializers.BooleanField(
        default=True,
        help_text="True: the file replaces the table's rows. False: update rows with the same key "
        "and keep the others.",
    )


class LookupCsvImportResultSerializer(serializers.Serializer):
    imported = serializers.IntegerField(help_text="How many rows the file loaded.")
