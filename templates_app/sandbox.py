"""The Jinja sandbox templates run in, with limits on time, loops and size.

Jinja's ``SandboxedEnvironment`` already refuses ``__class__``/``__globals__`` walks and
unsafe callables, and templates get no function that touches files or the network. What it
does not do is stop a template that runs too long or builds a huge string, which would tie
up a Celery worker. Threads cannot be interrupted from outside, and ``signal.alarm`` works
only in a main thread, so the limits here are cooperative: the compiled template itself
checks a per-render budget at every point where work can repeat or grow:

- every ``{% for %}`` loop iterates through a guard that counts iterations (all loops of a
  render share one budget) and checks the deadline;
- every call (functions, macros, methods, recursive ``loop()``) checks the deadline, which
  also ends runaway macro recursion;
- ``*``, ``**``, ``+`` and ``~`` refuse to build strings or lists larger than the output limit,
  and so does every call and filter result;
- the rendered output is measured while it is produced (``rendering._render_part``).

A template that hits a limit fails with a ``RenderLimitExceeded`` naming the limit and the
template line, instead of running on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from jinja2 import ChainableUndefined, nodes
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

# A worker renders each postback once; a second of CPU is far more than a real template needs.
MAX_RENDER_SECONDS = 2.0
# Items over all loops of one render: a thousand items with a few fulfillments each is ~10 000.
MAX_LOOP_ITERATIONS = 100_000
# Characters in the output, and in any string or list a template builds on the way.
MAX_OUTPUT_CHARS = 1_000_000
# Exponents above this make ``**`` a CPU bomb on integers; no postback needs them.
MAX_EXPONENT = 100
# How many cheap steps pass between two looks at the clock.
_CLOCK_EVERY = 64


class RenderLimitExceeded(Exception):
    """A template went over one of the sandbox's limits."""


@dataclass
class RenderState:
    """What one render has used so far, and the undefined names it printed."""

    deadline: float
    undefined: set[str] = field(default_factory=set)
    iterations: int = 0
    steps: int = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps % _CLOCK_EVERY == 0 and time.monotonic() > self.deadline:
            raise RenderLimitExceeded(
                f"the template ran longer than {MAX_RENDER_SECONDS:g} s and was stopped "
                "(a loop that never ends, or too much work per event?)"
            )

    def next_part(self) -> None:
        """Start collecting undefined names afresh for a template's next part."""
        self.undefined = set()


_state: ContextVar[RenderState | None] = ContextVar("template_render_state", default=None)


def start_render() -> tuple[RenderState, Any]:
    """Open a budget for one render; pass the token to ``end_render`` when done."""
    state = RenderState(deadline=time.monotonic() + MAX_RENDER_SECONDS)
    return state, _state.set(state)


def end_render(token: Any) -> None:
    _state.reset(token)


def _step() -> None:
    state = _state.get()
    if state is not None:
        state.step()


def check_size(value: Any) -> Any:
    """``value`` itself, unless it is a string or collection over the output limit."""
    if isinstance(value, str | list | tuple | dict | set) and len(value) > MAX_OUTPUT_CHARS:
        kind = "text" if isinstance(value, str) else "collection"
        raise RenderLimitExceeded(
            f"the template built a {kind} of {len(value):,} items or characters; "
            f"the limit is {MAX_OUTPUT_CHARS:,}"
        )
    return value


def _guarded_loop(iterable: Iterable[Any]) -> Iterator[Any]:
    state = _state.get()
    for item in iterable:
        if state is not None:
            state.iterations += 1
            if state.iterations > MAX_LOOP_ITERATIONS:
                raise RenderLimitExceeded(
                    f"the template's loops ran more than {MAX_LOOP_ITERATIONS:,} times in one "
                    "render and were stopped"
                )
            state.step()
        yield item


def _bounded_concat(parts: list[Any]) -> str:
    """Jinja's ``~``, refusing to build text over the output limit."""
    texts = [str(part) for part in parts]
    length = sum(map(len, texts))
    if length > MAX_OUTPUT_CHARS:
        raise RenderLimitExceeded(
            f"joining text with ~ would make {length:,} characters; "
            f"the limit is {MAX_OUTPUT_CHARS:,}"
        )
    return "".join(texts)


def _multiply(left: Any, right: Any) -> Any:
    for sequence, times in ((left, right), (right, left)):
        repeats = isinstance(sequence, str | list | tuple) and isinstance(times, int)
        if repeats and len(sequence) * times > MAX_OUTPUT_CHARS:
            raise RenderLimitExceeded(
                f"repeating {len(sequence):,} items {times:,} times goes over the limit "
                f"of {MAX_OUTPUT_CHARS:,}"
            )
    return left * right


def _power(left: Any, right: Any) -> Any:
    if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
        raise RenderLimitExceeded(f"exponents above {MAX_EXPONENT} are not allowed")
    return left**right


_LOOP_GUARD = "_postbacks_loop_guard"
_CONCAT_GUARD = "_postbacks_concat"


class _InsertGuards(NodeTransformer):
    """Rewrites a parsed template so loops and ``~`` go through the guards above."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _LOOP_GUARD, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Filter:
        self.generic_visit(node)
        return nodes.Filter(
            nodes.List(node.nodes, lineno=node.lineno),
            _CONCAT_GUARD,
            [],
            [],
            None,
            None,
            lineno=node.lineno,
        )


def _refuse_huge_widths(text: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a width or count over the output limit for an operation on text.

    ``center``, ``ljust``, ``indent`` and friends would allocate the huge string before any
    size check of their result could run.
    """
    if not isinstance(text, str):
        return
    for argument in (*args, *kwargs.values()):
        if isinstance(argument, int) and argument > MAX_OUTPUT_CHARS:
            raise RenderLimitExceeded(
                f"a width or count of {argument:,} is over the limit of {MAX_OUTPUT_CHARS:,}"
            )


def _bounded_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose result may not exceed the output limit (Jinja's pass_* marks kept)."""

    @wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        text = next((arg for arg in args if isinstance(arg, str)), None)
        _refuse_huge_widths(text, args, kwargs)
        return check_size(function(*args, **kwargs))

    return bounded


class LimitedSandbox(SandboxedEnvironment):
    """A ``SandboxedEnvironment`` with the limits described in this module's docstring."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def __init__(
        self,
        *,
        extra_filters: dict[str, Callable[..., Any]],
        extra_globals: dict[str, Any],
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.binop_table.update({"*": _multiply, "**": _power})
        self.globals.update(extra_globals)
        self.filters.update(extra_filters)
        self.filters = {name: _bounded_filter(f) for name, f in self.filters.items()}
        self.filters[_LOOP_GUARD] = _guarded_loop
        self.filters[_CONCAT_GUARD] = _bounded_concat

    def call_binop(self, context: Context, operator_name: str, left: Any, right: Any) -> Any:
        return check_size(super().call_binop(context, operator_name, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _step()
        _refuse_huge_widths(getattr(__obj, "__self__", None), args, kwargs)
        return check_size(super().call(__context, __obj, *args, **kwargs))

    def guarded_template(self, source: str):  # type: ignore[no-untyped-def]
        """Compile ``source`` with the loop and concatenation guards in place."""
        tree = _InsertGuards().visit(self.parse(source))
        tree.set_environment(self)
        return self.from_string(tree)


class RecordingUndefined(ChainableUndefined):
    """Renders as empty text and remembers each undefined name a template actually uses.

    ``{{ missing }}`` and ``{% for x in missing %}`` count as uses; ``missing is defined`` and
    ``missing | default(...)`` do not, since those are how a template handles optional data.
    """

    __slots__ = ()

    def _record(self) -> None:
        if self._undefined_exception is SecurityError:
            # The sandbox refused an attribute (``__class__`` and the like): say so, loudly.
            self._fail_with_undefined_error()
        state = _state.get()
        if state is not None and self._undefined_name is not None:
            state.undefined.add(self._undefined_name)

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__":
            raise AttributeError(name)
        return self._chained(f"{self._undefined_name}.{name}")

    def __getitem__(self, key: Any) -> Any:
        return self._chained(f"{self._undefined_name}[{key!r}]")

    def _chained(self, name: str) -> RecordingUndefined:
        if self._undefined_exception is SecurityError:
            self._fail_with_undefined_error()
        return type(self)(name=name)

    def __str__(self) -> str:
        self._record()
        return ""

    def __iter__(self):  # type: ignore[no-untyped-def]
        self._record()
        return iter(())

    def __len__(self) -> int:
        self._record()
        return 0
