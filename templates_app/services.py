"""Template services: the Render step, and lookup tables in and out of CSV files.

Admin and the API call these; the render itself is ``rendering.render_template``, the same
function delivery uses, so what Render shows is what a postback sends.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any
from xml.dom.minidom import Document

from defusedxml import minidom
from django.core.exceptions import ValidationError
from django.db import transaction

from .helpers import OutputFormat
from .models import LookupEntry, LookupTable, Template
from .rendering import RenderProblem, RenderResult, render_template
from .samples import sample_event_data


def set_active(template: Template, active: bool) -> None:
    """Activate or deactivate a template.

    Activation goes through ``Template.full_clean``, which refuses a template that does not
    render its event's sample data; the ValidationError says where it fails.
    """
    template.is_active = active
    if active:
        template.full_clean()
    template.save(update_fields=["is_active", "updated_at"])


def render_preview(
    template: Template,
    *,
    event: str | None = None,
    data: Mapping[str, Any] | str | None = None,
    customer_id: int | None = None,
    lookup_misses_fail: bool = True,
) -> RenderResult:
    """Render ``template`` (saved or not) the way a delivery would, for staff to check.

    ``data`` is the event data, as a mapping or as pasted JSON text; without it, the sample
    data of ``event`` (by default the template's own event) is used. ``customer_id`` chooses
    the lookup tables; ``lookup_misses_fail`` as in ``render_template``. Undefined names fail
    or render empty as the template's setting says, and are always listed.
    """
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as error:
            return _data_problem(
                f"the pasted data is not valid JSON: {error.msg} "
                f"(line {error.lineno}, column {error.colno})"
            )
        if not isinstance(data, dict):
            return _data_problem("the pasted data must be a JSON object: {...}")
    if data is None:
        event = event or template.event
        if not event:
            return _data_problem("choose an event for its sample data, or paste data as JSON")
        data = sample_event_data(event)
    return render_template(
        template, data, customer_id=customer_id, lookup_misses_fail=lookup_misses_fail
    )


def _data_problem(message: str) -> RenderResult:
    return RenderResult(message=None, errors=[RenderProblem("data", message)])


def pretty_output(text: str, output_format: str) -> str:
    """Valid JSON or XML output indented for reading; anything else as it is."""
    try:
        if output_format == OutputFormat.JSON:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        if output_format == OutputFormat.XML:
            document: Document = minidom.parseString(text)
            return document.toprettyxml(indent="  ")
    except Exception:  # shown as rendered; the render result already names the problem
        return text
    return text


CSV_HEADER = ("key", "value")
# A table's rows are listed in an error up to this many; the rest are counted.
_MAX_LISTED_ERRORS = 20


def import_lookup_csv(table: LookupTable, content: bytes, *, replace: bool = True) -> int:
    """Load ``key,value`` rows from a CSV file into ``table``; returns how many were loaded.

    The file is UTF-8 (a spreadsheet's byte-order mark is fine), comma-, semicolon- or
    tab-separated, with an optional ``key,value`` header. Every row is checked first; if any
    is bad, nothing is written and the ValidationError lists the bad rows by line number.
    With ``replace`` the table's existing rows are removed; without it, rows with the same
    key are updated and the others kept.
    """
    rows = _parse_lookup_csv(content)
    with transaction.atomic():
        if replace:
            table.entries.all().delete()
        LookupEntry.objects.bulk_create(
            [LookupEntry(table=table, key=key, value=value) for key, value in rows],
            update_conflicts=True,
            unique_fields=["table", "key"],
            update_fields=["value"],
        )
    return len(rows)


def _parse_lookup_csv(content: bytes) -> list[tuple[str, str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(
            f"The file is not UTF-8 text (byte {error.start + 1}); save it as CSV UTF-8."
        ) from error
    first_line = text.split("\n", 1)[0]
    delimiter = next((d for d in (",", ";", "\t") if d in first_line), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    key_max_length = LookupEntry._meta.get_field("key").max_length
    rows: list[tuple[str, str]] = []
    first_line_of: dict[str, int] = {}
    errors: list[str] = []
    try:
        for row in reader:
            line = reader.line_num
            if not row or not any(cell.strip() for cell in row):
                continue
            if not rows and not errors and tuple(c.strip().lower() for c in row) == CSV_HEADER:
                continue
            if len(row) != 2:
                errors.append(f"line {line}: expected 2 columns (key, value), found {len(row)}")
                continue
            key, value = row[0].strip(), row[1]
            if not key:
                errors.append(f"line {line}: the key is empty")
            elif len(key) > key_max_length:
                errors.append(f"line {line}: the key is longer than {key_max_length} characters")
            elif key in first_line_of:
                errors.append(f'line {line}: key "{key}" is already on line {first_line_of[key]}')
            else:
                first_line_of[key] = line
                rows.append((key, value))
    except csv.Error as error:
        errors.append(f"line {reader.line_num}: {error}")
    if errors:
        listed = errors[:_MAX_LISTED_ERRORS]
        if len(errors) > len(listed):
            listed.append(f"and {len(errors) - len(listed)} more bad rows")
        raise ValidationError(["Nothing was imported. " + "; ".join(listed) + "."])
    if not rows:
        raise ValidationError("Nothing was imported: the file has no key,value rows.")
    return rows


def export_lookup_csv(table: LookupTable) -> str:
    """``table``'s rows as a ``key,value`` CSV text with a header, ordered by key."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    writer.writerows(table.entries.order_by("key").values_list("key", "value"))
    return buffer.getvalue()
