"""What a template prints, and how: escaping per output format, and the documented helpers.

Every ``{{ ... }}`` goes through the format's *finalize* function before it reaches the output.
That is where "valid by construction" happens: in a JSON template a value is escaped as the
inside of a JSON string (templates write ``"{{ x }}"``), in an XML template as XML text, in an
HTML email as HTML. Numbers, booleans and null still print bare, so ``"count": {{ n }}`` stays
a number.

A value that is already valid in a format is wrapped in that format's marker class
(``JsonText``, ``XmlText``, or markupsafe's ``Markup`` for HTML) and printed as it is:
``tojson``, the escaping filters and ``safe`` return one. A marker only counts in its own
format, so ``{{ x | xml_escape }}`` inside a JSON template is still JSON-escaped afterwards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from json.encoder import encode_basestring, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Undefined
from markupsafe import Markup
from markupsafe import escape as html_escape


class OutputFormat(StrEnum):
    """What a template part produces; it decides the escaping and the output check."""

    JSON = "json"
    XML = "xml"
    HTML = "html"
    TEXT = "text"


class TemplateHelperError(ValueError):
    """A helper was called with a value it cannot use; the message says which and why."""


class JsonText(str):
    """Text that is already valid where a JSON template prints it."""

    __slots__ = ()


class XmlText(str):
    """Text that is already valid XML character data."""

    __slots__ = ()


# XML 1.0 forbids these code points even as character references; they are replaced.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "\r": "&#13;"}
)


def json_string_body(text: str) -> str:
    """``text`` escaped to sit between the quotes of a JSON string.

    Non-ASCII characters stay readable; a lone surrogate (which cannot be sent as UTF-8) makes
    the whole value fall back to ``\\uXXXX`` escapes.
    """
    if _sendable(text):
        return encode_basestring(text)[1:-1]
    return encode_basestring_ascii(text)[1:-1]


def _sendable(text: str) -> bool:
    """Whether ``text`` can be encoded as UTF-8 (it can unless it holds a lone surrogate)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def xml_text(text: str) -> str:
    """``text`` as XML character data, valid in element content and in attribute values.

    Characters XML 1.0 cannot carry at all are replaced with U+FFFD; a carriage return is
    written as ``&#13;`` so parsers keep it.
    """
    return _XML_ILLEGAL.sub("\ufffd", text).translate(_XML_ESCAPES)


def _plain(value: Any) -> str:
    """The text of a value before escaping: JSON spellings for data, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


_MARKERS: dict[OutputFormat, Callable[[str], str]] = {
    OutputFormat.JSON: JsonText,
    OutputFormat.XML: XmlText,
    OutputFormat.HTML: Markup,
    OutputFormat.TEXT: str,
}

_ESCAPERS: dict[OutputFormat, Callable[[str], str]] = {
    OutputFormat.JSON: json_string_body,
    OutputFormat.XML: xml_text,
    OutputFormat.HTML: html_escape,
    OutputFormat.TEXT: str,
}


def _finalizer(output_format: OutputFormat) -> Callable[[Any], str]:
    """What ``{{ value }}`` prints in a template of ``output_format``."""
    marker, escape = _MARKERS[output_format], _ESCAPERS[output_format]
    bare_json = output_format == OutputFormat.JSON

    def finalize(value: Any) -> str:
        if type(value) is str:  # the common case, first
            return escape(value)
        if isinstance(value, marker):
            return value
        if bare_json and (value is None or isinstance(value, int | float)):  # bool is an int
            return json.dumps(value)
        return escape(_plain(value))

    return finalize


FINALIZERS = {output_format: _finalizer(output_format) for output_format in OutputFormat}


def tojson(value: Any, indent: int | None = None) -> str:
    """``value`` as JSON text (objects, lists, strings with their quotes, numbers...)."""
    try:
        text = json.dumps(value, ensure_ascii=False, indent=indent, default=_undefined_as_null)
    except (TypeError, ValueError) as error:
        raise TemplateHelperError(f"tojson: {error}") from error
    return text if _sendable(text) else json.dumps(value, indent=indent, default=_undefined_as_null)


def _undefined_as_null(value: Any) -> Any:
    if isinstance(value, Undefined):
        str(value)  # records the name as used, like printing it would
        return None
    raise TypeError(f"a {type(value).__name__} cannot be written as JSON")


def format_date(value: Any, pattern: str = "iso", tz: str = "UTC") -> str:
    """A timestamp in time zone ``tz``, as ISO 8601 (``pattern="iso"``) or a strftime pattern.

    ``value`` may be an ISO 8601 text (``2024-11-29T15:55:12Z``, ``2024-11-29 15:55:12``,
    ``2024-11-29``), Unix seconds, or a date/datetime. A time without a zone is read as UTC,
    which is what the event data carries.
    """
    zone = _zone(tz)
    moment = _as_datetime(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(zone)
    if pattern == "iso":
        return moment.isoformat()
    try:
        return moment.strftime(pattern)
    except ValueError as error:
        raise TemplateHelperError(f"format_date: bad pattern {pattern!r}: {error}") from error


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise TemplateHelperError(
            f"format_date: unknown time zone {name!r} (use an IANA name such as "
            '"Europe/Oslo" or "UTC")'
        ) from error


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value.strip():
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    if isinstance(value, Undefined):
        str(value)  # records the name as used
    raise TemplateHelperError(
        f"format_date: {value!r} is not a date or time "
        '(expected ISO 8601 such as "2024-11-29T15:55:12Z", or Unix seconds)'
    )


def filters_for(output_format: OutputFormat) -> dict[str, Callable[..., Any]]:
    """The filters a template of ``output_format`` gets besides Jinja's built-in ones.

    ``e``/``escape`` escape for the template's own format; ``json_escape``, ``xml_escape``
    and ``tojson`` produce text that is printed as it is in their own format and escaped
    again in any other; ``safe`` marks text as already valid in the template's format.
    """
    own_marker = _MARKERS[output_format]

    def marked(render: Callable[..., str], render_format: OutputFormat) -> Callable[..., str]:
        marker = _MARKERS[render_format] if render_format == output_format else str
        return lambda value, *args, **kwargs: marker(render(value, *args, **kwargs))

    own_escape = marked(lambda value: _ESCAPERS[output_format](_plain(value)), output_format)
    return {
        "e": own_escape,
        "escape": own_escape,
        "json_escape": marked(lambda value: json_string_body(_plain(value)), OutputFormat.JSON),
        "xml_escape": marked(lambda value: xml_text(_plain(value)), OutputFormat.XML),
        "tojson": marked(tojson, OutputFormat.JSON),
        "safe": lambda value: own_marker(_plain(value)),
        "format_date": format_date,
    }
