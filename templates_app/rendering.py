"""Rendering a template against an event's data: one function for Render, the API and delivery.

Rendering knows nothing of HTTP or SMTP. It returns a ``RenderResult``: the message to send
(body, subject, content type) or the problems that prevent sending it, each with the field and
the line of the template where it happened, plus every undefined name the template used.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from defusedxml import ElementTree as SafeElementTree
from jinja2 import Template as JinjaTemplate
from jinja2 import TemplateError, TemplateSyntaxError

from .helpers import FINALIZERS, OutputFormat, TemplateHelperError, filters_for, format_date
from .lookups import LookupMiss, Lookups
from .models import Template
from .sandbox import (
    MAX_OUTPUT_CHARS,
    LimitedSandbox,
    RecordingUndefined,
    RenderLimitExceeded,
    end_render,
    start_render,
)

CONTENT_TYPES = {
    Template.Format.JSON: "application/json",
    Template.Format.XML: "application/xml; charset=utf-8",
}
_TEMPLATE_FILENAME = "<template>"


@dataclass(frozen=True)
class RenderedMessage:
    """What a postback sends, independent of how it is sent."""

    content_type: str
    body: str
    subject: str = ""
    html_body: str = ""


@dataclass(frozen=True)
class RenderProblem:
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.field}, line {self.line}" if self.line else self.field
        return f"{where}: {self.message}"


@dataclass
class RenderResult:
    message: RenderedMessage | None
    errors: list[RenderProblem] = field(default_factory=list)
    undefined: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    # The text each part rendered to, kept even when a check failed, so Render can show it.
    parts: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_text(self) -> str:
        return "; ".join(str(problem) for problem in self.errors)


_ENVIRONMENTS = {
    output_format: LimitedSandbox(
        undefined=RecordingUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=FINALIZERS[output_format],
        extra_filters=filters_for(output_format),
        extra_globals={"format_date": format_date},
    )
    for output_format in OutputFormat
}

# The translated documentation prints ``{{`` as ``##{{``; those two characters are dropped.
_TRANSLATION_MARKER = re.compile(r"##(?=\{[{%])")


@dataclass(frozen=True)
class CompiledPart:
    template: JinjaTemplate
    notices: tuple[str, ...]


@lru_cache(maxsize=512)
def compile_part(source: str, output_format: OutputFormat) -> CompiledPart:
    """``source`` compiled for ``output_format``, with notices about what was read specially.

    Cached by the text itself: an edited template is new text, so it is compiled afresh and
    the old entry ages out. Syntax errors raise ``TemplateSyntaxError`` and are not cached.
    """
    notices = []
    marker_lines = sorted(
        {source.count("\n", 0, match.start()) + 1 for match in _TRANSLATION_MARKER.finditer(source)}
    )
    if marker_lines:
        count = len(_TRANSLATION_MARKER.findall(source))
        notices.append(
            f'read {count} "##{{{{" marker(s) as "{{{{" on line(s) '
            f"{', '.join(map(str, marker_lines))}: translated copies of the documentation "
            'print "{{" that way. Remove the "##" to silence this notice.'
        )
        source = _TRANSLATION_MARKER.sub("", source)
    return CompiledPart(_ENVIRONMENTS[output_format].guarded_template(source), tuple(notices))


def part_format(template: Template, part: str) -> OutputFormat:
    """The format a part of ``template`` produces, which decides its escaping."""
    if template.kind == Template.Kind.WEBHOOK:
        return OutputFormat(template.format)
    return OutputFormat.HTML if part == "html_body" else OutputFormat.TEXT


def syntax_errors(source: str) -> list[str]:
    """Jinja syntax errors in ``source`` (unknown filters included), as messages naming the line."""
    try:
        compile_part(source, OutputFormat.TEXT)
    except TemplateSyntaxError as error:
        return [f"Line {error.lineno}: {error.message}"]
    return []


def _message(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "the template calls itself too deeply (a macro that never stops calling itself?)"
    return getattr(error, "message", None) or str(error)


def _template_line(error: BaseException) -> int | None:
    """The template line a render error happened on, from Jinja's rewritten traceback."""
    if isinstance(error, TemplateSyntaxError):
        return error.lineno
    frames = traceback.extract_tb(error.__traceback__)
    lines = [frame.lineno for frame in frames if frame.filename == _TEMPLATE_FILENAME]
    return lines[-1] if lines else None


def _check_output(output: str, fmt: str) -> RenderProblem | None:
    """A problem if ``output`` is not the valid JSON or XML its format promises."""
    position: tuple[int, int] | None = None
    try:
        if fmt == Template.Format.JSON:
            json.loads(output)
        elif fmt == Template.Format.XML:
            SafeElementTree.fromstring(output)
        return None
    except json.JSONDecodeError as error:
        reason, position = error.msg, (error.lineno, error.colno)
    except SafeElementTree.ParseError as error:
        reason, position = str(error).split(":")[0], error.position
    except Exception as error:  # defusedxml's refusals (entities, DTDs) and the like
        reason = str(error)
    name = Template.Format(fmt).label
    if position is None:
        return RenderProblem("body", f"the output is not valid {name}: {reason}")
    line_no, column = position
    lines = output.splitlines() or [""]
    quoted = lines[min(line_no, len(lines)) - 1].strip()[:200]
    return RenderProblem(
        "body",
        f"the output is not valid {name}: {reason} at output line {line_no}, "
        f"column {column}: {quoted!r}",
    )


# What a template can do wrong while rendering; anything else is a bug of ours and propagates.
_RENDER_ERRORS = (
    TemplateError,
    LookupMiss,
    TemplateHelperError,
    RenderLimitExceeded,
    RecursionError,
    ArithmeticError,
    TypeError,
    ValueError,
)


def render_template(
    template: Template,
    data: Mapping[str, Any],
    *,
    customer_id: int | None = None,
    strict_undefined: bool | None = None,
    lookup_misses_fail: bool = True,
) -> RenderResult:
    """Render every part of ``template`` with ``data`` as the template's variables.

    ``customer_id`` chooses the lookup tables. With ``strict_undefined`` (by default the
    template's own setting) an undefined name is an error, so a live delivery does not send
    half-empty data; without it, it renders empty and is only reported. Without
    ``lookup_misses_fail`` a strict lookup miss is a notice, not an error: for sample data.
    """
    if strict_undefined is None:
        strict_undefined = template.strict_undefined
    result = RenderResult(message=None)
    lookups = Lookups(customer_id, misses_fail=lookup_misses_fail)
    context = {**data, "lookups": lookups}
    undefined: set[str] = set()
    state, token = start_render()
    try:
        for part, source in template.sources().items():
            try:
                compiled = compile_part(source, part_format(template, part))
                result.notices.extend(f"{part}: {notice}" for notice in compiled.notices)
                result.parts[part] = _render_part(compiled.template, context)
            except _RENDER_ERRORS as error:
                result.errors.append(RenderProblem(part, _message(error), _template_line(error)))
            if state.undefined and strict_undefined:
                names = ", ".join(sorted(state.undefined))
                result.errors.append(RenderProblem(part, f"undefined names used: {names}"))
            undefined |= state.undefined
            state.next_part()
    finally:
        end_render(token)
    result.undefined = sorted(undefined)
    if lookups.misses:
        result.notices.append("lookups found no value for " + ", ".join(lookups.misses))
    if result.errors:
        return result
    if template.kind == Template.Kind.WEBHOOK:
        problem = _check_output(result.parts["body"], template.format)
        if problem:
            result.errors.append(problem)
            return result
        content_type = CONTENT_TYPES[template.format]
    else:
        content_type = "text/plain; charset=utf-8"
    result.message = RenderedMessage(
        content_type=content_type,
        body=result.parts["body"],
        subject=" ".join(result.parts.get("subject", "").split()),
        html_body=result.parts.get("html_body", ""),
    )
    return result


def render_text(
    source: str, data: Mapping[str, Any], *, customer_id: int | None = None
) -> RenderResult:
    """Render one text that is not a template's, e.g. a trigger's recipients, by the same rules.

    Same sandbox, lookups and strict undefined names as a template's parts; the output is the
    message's ``body``.
    """
    return render_template(
        Template(kind=Template.Kind.EMAIL, body=source), data, customer_id=customer_id
    )


def _render_part(template: JinjaTemplate, context: dict[str, Any]) -> str:
    """The template's output, refused as soon as it grows over the output limit."""
    chunks = []
    length = 0
    for chunk in template.generate(context):
        length += len(chunk)
        if length > MAX_OUTPUT_CHARS:
            raise RenderLimitExceeded(f"the output is longer than {MAX_OUTPUT_CHARS:,} characters")
        chunks.append(chunk)
    return "".join(chunks)
