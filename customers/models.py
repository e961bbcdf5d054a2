import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from .events import OrderStatus


def validate_order_data(data: Any) -> None:
    """An order's data is a JSON object (templates and ``order_event_data`` read it as one)
    with no NUL character anywhere, which PostgreSQL cannot store in JSON."""
    if not isinstance(data, dict):
        raise ValidationError("The order data must be a JSON object: {...}.")
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and "\x00" in value:
            raise ValidationError("The order data cannot contain the NUL character (\\u0000).")


class Customer(models.Model):
    """A customer of the PSP: the owner of orders and of the triggers that report on them."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    reference_id = models.SlugField(
        "reference id",
        max_length=100,
        unique=True,
        help_text="The customer's identifier in the PSP's systems, e.g. acme-prints.",
    )
    contact_email = models.EmailField(blank=True)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    """An order whose status changes drive postbacks.

    ``status_at_load`` remembers the status the row had in the database, so the post_save
    signal can tell a status change from any other save.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    reference_id = models.CharField(
        "reference id",
        max_length=200,
        help_text="The customer's own order reference.",
    )
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.RECEIVED
    )
    data = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_order_data],
        help_text=(
            "The order as JSON: items (with fulfillments: trackingCode, trackingUrl, "
            "carrierName, carrierUid), shipment, addresses, metadata."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "reference_id"], name="order_reference_unique_per_customer"
            )
        ]
        indexes = [models.Index(fields=["status"])]

    # None for an order that is not in the database yet: its first save is a status change.
    status_at_load: str | None = None

    def __str__(self) -> str:
        return f"{self.reference_id} ({self.customer})"

    def save(self, *args, **kwargs) -> None:
        # One transaction for the row and for what post_save receivers write because of it
        # (the postbacks of a status change): both land, or neither does.
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):  # type: ignore[no-untyped-def]
        instance = super().from_db(db, field_names, values)
        instance.status_at_load = instance.__dict__.get("status")
        return instance
