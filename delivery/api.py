from rest_framework import viewsets

from .models import Postback
from .serializers import PostbackSerializer


class PostbackViewSet(viewsets.ReadOnlyModelViewSet):
    """The delivery log: every postback with every attempt made for it."""

    queryset = Postback.objects.select_related("trigger").prefetch_related("attempts")
    serializer_class = PostbackSerializer
