from rest_framework import viewsets

from .models import Customer, Order
from .serializers import CustomerSerializer, OrderSerializer


class CustomerViewSet(viewsets.ModelViewSet):
    """Customers: the owners of orders, triggers and their own lookup tables."""

    queryset = Customer.objects.all()
    serializer_class = CustomerSerializer
    filterset_fields = ["is_active", "reference_id"]
    ordering_fields = ["name", "reference_id", "created_at"]


class OrderViewSet(viewsets.ModelViewSet):
    """Orders. Creating one, or changing its ``status`` (PATCH ``{"status": "shipped"}``), is
    that status's event: the order is saved the way ``customers.services.change_order_status``
    saves it, in one transaction with the postbacks its customer's triggers owe, exactly as a
    change in admin."""

    queryset = Order.objects.select_related("customer")
    serializer_class = OrderSerializer
    filterset_fields = ["customer", "status", "reference_id"]
    ordering_fields = ["created_at", "updated_at", "reference_id"]
