from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from postbacks_site.api import ChangePermission

from . import services
from .downloads import lookup_csv_response
from .models import LookupEntry, LookupTable, Template
from .serializers import (
    LookupCsvImportResultSerializer,
    LookupCsvImportSerializer,
    LookupEntrySerializer,
    LookupTableSerializer,
    RenderInputSerializer,
    RenderResultSerializer,
    TemplateSerializer,
)


class TemplateViewSet(viewsets.ModelViewSet):
    """Templates that turn an event's data into a webhook body or an email."""

    queryset = Template.objects.all()
    serializer_class = TemplateSerializer
    filterset_fields = ["kind", "format", "event", "is_active"]
    ordering_fields = ["name", "created_at", "updated_at"]

    @extend_schema(request=RenderInputSerializer, responses=RenderResultSerializer)
    @action(detail=True, methods=["post"], permission_classes=[ChangePermission])
    def render(self, request: Request, pk: str | None = None) -> Response:
        """Render the template as a delivery would (admin's Render): the output, or the
        errors with their line numbers, plus undefined names and notices. A failed render is
        still a 200: its problems are the answer."""
        template = self.get_object()
        given = RenderInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        customer = given.validated_data.get("customer")
        result = services.render_preview(
            template,
            event=given.validated_data.get("event"),
            data=given.validated_data.get("data"),
            customer_id=customer.pk if customer else None,
        )
        return Response(RenderResultSerializer(result).data)


class LookupTableViewSet(viewsets.ModelViewSet):
    """Lookup tables: a customer's (or the workspace's) names for the PSP's codes."""

    queryset = LookupTable.objects.select_related("customer")
    serializer_class = LookupTableSerializer
    filterset_fields = ["customer", "template_field"]
    ordering_fields = ["name", "template_field"]

    @extend_schema(
        request={"multipart/form-data": LookupCsvImportSerializer},
        responses=LookupCsvImportResultSerializer,
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="import-csv",
        parser_classes=[MultiPartParser, FormParser],
        permission_classes=[ChangePermission],
    )
    def import_csv(self, request: Request, pk: str | None = None) -> Response:
        """Load a CSV file into the table: all rows or, if any is bad, none (the error lists
        the bad lines)."""
        table = self.get_object()
        upload = LookupCsvImportSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        count = services.import_lookup_csv(
            table, upload.validated_data["file"].read(), replace=upload.validated_data["replace"]
        )
        return Response(LookupCsvImportResultSerializer({"imported": count}).data)

    @extend_schema(
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="key,value")}
    )
    @action(detail=True, methods=["get"], url_path="export-csv")
    def export_csv(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The table's rows as a key,value CSV file, the format import takes."""
        return lookup_csv_response(self.get_object())


class LookupEntryViewSet(viewsets.ModelViewSet):
    """The rows of lookup tables; filter by ``table``."""

    queryset = LookupEntry.objects.all()
    serializer_class = LookupEntrySerializer
    filterset_fields = ["table", "key"]
    ordering_fields = ["key"]
