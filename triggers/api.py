from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from delivery import services as delivery_services
from delivery.serializers import DeliveryAttemptSerializer
from postbacks_site.api import ChangePermission, SendRateThrottle, TokenRateThrottle

from . import services
from .models import Trigger
from .serializers import CreatedTriggerSerializer, RotatedSecretSerializer, TriggerSerializer


class TriggerViewSet(viewsets.ModelViewSet):
    """Triggers: which event of which customer is sent where, with which template."""

    queryset = Trigger.objects.select_related("customer", "template")
    serializer_class = TriggerSerializer
    filterset_fields = ["customer", "event", "template", "delivery_method", "is_active"]
    ordering_fields = ["name", "created_at", "updated_at"]

    def get_serializer_class(self) -> type[TriggerSerializer]:
        return CreatedTriggerSerializer if self.action == "create" else TriggerSerializer

    @extend_schema(request=None, responses={200: DeliveryAttemptSerializer})
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[ChangePermission],
        throttle_classes=[TokenRateThrottle, SendRateThrottle],
    )
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Send the trigger's event sample data to its destination now, even while the trigger
        is inactive, and answer with the attempt: what was sent, what came back. The postback
        stays in the delivery log marked as a test."""
        attempt = delivery_services.send_test_postback(self.get_object())
        return Response(DeliveryAttemptSerializer(attempt).data)

    @extend_schema(request=None, responses={200: RotatedSecretSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="rotate-secret",
        permission_classes=[ChangePermission],
    )
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """Give the trigger a new signing secret, shown in this answer only. The old one keeps
        signing alongside until ``previous_secret_expires_at``, so receivers can switch."""
        trigger = self.get_object()
        secret = services.rotate_signing_secret(trigger, timezone.now())
        trigger.refresh_from_db()
        rotated = {
            "signing_secret": secret,
            "previous_secret_expires_at": trigger.previous_secret_expires_at,
        }
        return Response(RotatedSecretSerializer(rotated).data)
