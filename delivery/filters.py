"""Filters of the delivery log: the questions support staff ask of it."""

from datetime import UTC, datetime

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from customers.events import Event
from customers.models import Customer

from .models import Postback


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, converted to UTC before it reaches the database: Python accepts any
    offset below 24 hours, PostgreSQL none beyond ±15:59, and a UTC value outside the years
    1 to 9999 exists in neither."""

    def to_python(self, value: str | datetime | None) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Enter a time within the years 1 to 9999 in UTC.") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class PostbackFilter(django_filters.FilterSet):
    customer = django_filters.ModelChoiceFilter(
        field_name="trigger__customer",
        queryset=Customer.objects.all(),
        help_text="The customer whose trigger the postback is for.",
    )
    event = django_filters.ChoiceFilter(choices=Event.choices)
    status = django_filters.MultipleChoiceFilter(
        choices=Postback.Status.choices, help_text="One status, or several: ?status=a&status=b."
    )
    order_reference = django_filters.CharFilter(help_text="The order's reference, exactly.")
    created_after = UtcDateTimeFilter(
        field_name="created_at",
        lookup_expr="gte",
        help_text="Created at or after this ISO 8601 time, e.g. 2025-06-01T00:00:00Z.",
    )
    created_before = UtcDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Created before this ISO 8601 time."
    )

    class Meta:
        model = Postback
        fields = ["trigger", "is_test"]
