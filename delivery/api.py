from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from postbacks_site.api import ChangePermission, SendRateThrottle, TokenRateThrottle

from . import services
from .email_check import send_test_email
from .filters import PostbackFilter
from .models import Postback, WorkspaceSettings
from .serializers import (
    PostbackDetailSerializer,
    PostbackSerializer,
    QueuedSerializer,
    TestEmailResultSerializer,
    TestEmailSerializer,
    WorkspaceSettingsSerializer,
)


class DeliveryLogPagination(CursorPagination):
    """The log only grows: a cursor stays correct while new postbacks arrive, and costs the
    same on the thousandth page as on the first (no OFFSET, no COUNT)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class PostbackViewSet(viewsets.ReadOnlyModelViewSet):
    """The delivery log: every postback, newest first, with every attempt made for it."""

    queryset = Postback.objects.select_related("trigger")
    serializer_class = PostbackSerializer
    pagination_class = DeliveryLogPagination
    filterset_class = PostbackFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[Postback]:
        if self.action == "retrieve":
            return super().get_queryset().prefetch_related("attempts")
        return super().get_queryset()

    def get_serializer_class(self) -> type[PostbackSerializer]:
        return PostbackDetailSerializer if self.action == "retrieve" else PostbackSerializer

    @extend_schema(request=None, responses={202: QueuedSerializer})
    @action(detail=True, methods=["post"], permission_classes=[ChangePermission])
    def resend(self, request: Request, pk: str | None = None) -> Response:
        """Queue one more attempt now, whatever the postback's status and schedule (admin's
        Resend); the attempt appears in its log."""
        services.resend([self.get_object().pk])
        return Response({"queued": 1}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: QueuedSerializer}, filters=True)
    @action(
        detail=False,
        methods=["post"],
        url_path="retry-failed",
        permission_classes=[ChangePermission],
    )
    def retry_failed(self, request: Request) -> Response:
        """Resend every failed postback that the query's filters select (all failed ones
        without filters), e.g. ``?customer=3&created_after=2025-06-01T00:00:00Z``."""
        failed = self.filter_queryset(self.get_queryset()).filter(status=Postback.Status.FAILED)
        ids = list(failed.values_list("pk", flat=True))
        services.resend(ids)
        return Response({"queued": len(ids)}, status=status.HTTP_202_ACCEPTED)


class WorkspaceSettingsView(generics.RetrieveUpdateAPIView):
    """The workspace's email settings (one for the workspace); no secret is ever read back."""

    queryset = WorkspaceSettings.objects.all()
    serializer_class = WorkspaceSettingsSerializer

    def get_object(self) -> WorkspaceSettings:
        return WorkspaceSettings.load()


class SendTestEmailView(generics.GenericAPIView):
    """Send a test message with the saved settings and say how far it got (admin's Send test
    email): host not found, refused, timeout, TLS, login, sender or recipient refused, or sent.
    A failed check is still a 200: its result is the answer."""

    queryset = WorkspaceSettings.objects.all()
    serializer_class = TestEmailSerializer
    permission_classes = [ChangePermission]
    throttle_classes = [TokenRateThrottle, SendRateThrottle]

    @extend_schema(responses={200: TestEmailResultSerializer})
    def post(self, request: Request) -> Response:
        given = self.get_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        result = send_test_email(WorkspaceSettings.load(), given.validated_data["to"])
        return Response(TestEmailResultSerializer(result).data)
