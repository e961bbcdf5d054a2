from rest_framework import serializers

from postbacks_site.api import ModelCleanSerializer

from .models import Customer, Order


class CustomerSerializer(ModelCleanSerializer):
    class Meta:
        model = Customer
        fields = [
            "id",
            "public_id",
            "name",
            "reference_id",
            "contact_email",
            "is_active",
            "created_at",
            "updated_at",
        ]


class OrderSerializer(ModelCleanSerializer):
    """An order; saving it with another ``status`` is that status's event (see the view)."""

    data = serializers.DictField(
        required=False,
        help_text=Order._meta.get_field("data").help_text,
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "public_id",
            "customer",
            "reference_id",
            "status",
            "data",
            "created_at",
            "updated_at",
        ]

    def validate_customer(self, customer: Customer) -> Customer:
        if self.instance is not None and customer != self.instance.customer:
            raise serializers.ValidationError("An order cannot move to another customer.")
        return customer
