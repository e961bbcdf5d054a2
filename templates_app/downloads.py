"""File downloads shared by admin and the API."""

from django.http import HttpResponse

from .models import LookupTable
from .services import export_lookup_csv


def lookup_csv_response(table: LookupTable) -> HttpResponse:
    """The table's rows as a ``key,value`` CSV attachment, the format import takes."""
    response = HttpResponse(export_lookup_csv(table), content_type="text/csv; charset=utf-8")
    filename = f"lookup-{table.template_field}-{table.pk}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
