from rest_framework import serializers

from .models import Customer, Order


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "public_id", "name", "reference_id", "contact_email", "is_active"]


class OrderSerializer(serializers.ModelSerializer):
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
        read_only_fields = ["created_at", "updated_at"]
