"""Rendering a template against an event's data: one function for Render, the API and delivery.

Rendering knows nothing of HTTP or SMTP. It returns a ``RenderResult``: the message to send
(body, subject, content type) or the problems that prevent sending it, each with the field and
the line of the template where it happened, plus every undefined name the template used.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from defusedxml import ElementTree as SafeElementTree
from jinja2 import ChainableUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from .lookups import LookupMiss, Lookups
from .models import Template

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

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_text(self) -> str:
        return "; ".join(str(problem) for problem in self.errors)


_used_undefined: ContextVar[set[str] | None] = ContextVar("used_undefined", default=None)


class RecordingUndefined(ChainableUndefined):
    """Renders as empty text and remembers each undefined name a template actually uses.

    ``{{ missing }}`` and ``{% for x in missing %}`` count as uses; ``missing is defined`` and
    ``missing | default(...)`` do not, since those are how a template handles optional data.
    """

    __slots__ = ()

    def _record(self) -> None:
        names = _used_undefined.get()
        if names is not None and self._undefined_name is not None:
            names.add(self._undefined_name)

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__":
            raise AttributeError(name)
        return type(self)(name=f"{self._undefined_name}.{name}")

    __getitem__ = __getattr__

    def __str__(self) -> str:
        self._record()
        return ""

    def __iter__(self):  # type: ignore[no-untyped-def]
        self._record()
        return iter(())

    def __len__(self) -> int:
        self._record()
        return 0


_environment = SandboxedEnvironment(
    undefined=RecordingUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)


def syntax_errors(source: str) -> list[str]:
    """Jinja syntax errors in ``source``, as messages naming the line."""
    try:
        _environment.parse(source)
    except TemplateSyntaxError as error:
        return [f"Line {error.lineno}: {error.message}"]
    return []


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


def render_template(
    template: Template,
    data: Mapping[str, Any],
    *,
    customer_id: int | None = None,
    strict_undefined: bool = True,
) -> RenderResult:
    """Render every part of ``template`` with ``data`` as the template's variables.

    ``customer_id`` chooses the lookup tables. With ``strict_undefined`` an undefined name is
    an error (a live delivery must not send half-empty data); without it, it renders empty and
    is only reported.
    """
    result = RenderResult(message=None)
    used_undefined: set[str] = set()
    token = _used_undefined.set(used_undefined)
    context = {**data, "lookups": Lookups(customer_id)}
    rendered: dict[str, str] = {}
    try:
        for part, source in template.sources().items():
            try:
                compiled = _environment.from_string(source)
                rendered[part] = compiled.render(context)
            except (TemplateError, LookupMiss, ArithmeticError, TypeError, ValueError) as error:
                message = getattr(error, "message", None) or str(error)
                result.errors.append(RenderProblem(part, message, _template_line(error)))
    finally:
        _used_undefined.reset(token)
    result.undefined = sorted(used_undefined)
    if result.undefined and strict_undefined:
        result.errors.append(
            RenderProblem("body", "undefined names used: " + ", ".join(result.undefined))
        )
    if result.errors:
        return result
    if template.kind == Template.Kind.WEBHOOK:
        problem = _check_output(rendered["body"], template.format)
        if problem:
            result.errors.append(problem)
            return result
        content_type = CONTENT_TYPES[template.format]
    else:
        content_type = "text/plain; charset=utf-8"
    result.message = RenderedMessage(
        content_type=content_type,
        body=rendered["body"],
        subject=" ".join(rendered.get("subject", "").split()),
        html_body=rendered.get("html_body", ""),
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
