from rest_framework import viewsets

from .models import Customer, Order
from .serializers import CustomerSerializer, OrderSerializer


class CustomerViewSet(viewsets.ModelViewSet):
    queryset = Customer.objects.all()
    serializer_class = CustomerSerializer


class OrderViewSet(viewsets.ModelViewSet):
    """Orders; changing ``status`` here raises the same postbacks as a change in admin."""

    queryset = Order.objects.select_related("customer")
    serializer_class = OrderSerializer
