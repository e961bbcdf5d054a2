"""Renders per second of our render service against plain Jinja, on the documentation's example.

Plain means ``jinja2.Environment`` rendering the same compiled template with the same data:
no sandbox, no escaping, no limits, no lookups object, no output check. The ratio is the
price of those checks.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import jinja2
from django.core.management.base import BaseCommand

from templates_app.models import Template
from templates_app.rendering import render_template
from templates_app.samples import DOC_EXAMPLE_TEMPLATE, sample_event_data

# The documentation's example prints every fulfillment into one JSON object with no comma
# between them, so it is valid JSON only when one fulfillment is shipped. The list variant
# is the same template written to print all of them.
DOC_EXAMPLE_AS_LIST = (
    DOC_EXAMPLE_TEMPLATE.replace('"trackingInfo": {', '"trackingInfo": [')
    .replace('"trackingCode"', '{"trackingCode"')
    .replace(
        '"{{ fulfillment.carrierName }}" {% endfor %} {% endfor %} }}',
        '"{{ fulfillment.carrierName }}"}{{ "," if not loop.last }} {% endfor %}'
        '{{ "," if not loop.last }} {% endfor %} ]}',
    )
)


def order_with_items(count: int, *, all_shipped: bool) -> dict[str, Any]:
    """The "order shipped" sample with ``count`` items; only the first shipped unless told."""
    data = sample_event_data("order_shipped")
    (item,) = data["items"]
    data["items"] = []
    for number in range(count):
        copied = copy.deepcopy(item)
        copied["referenceId"] = f"{item['referenceId']}-{number}"
        if number and not all_shipped:
            copied["fulfillments"] = []
        for fulfillment in copied["fulfillments"]:
            fulfillment["trackingCode"] = f"{fulfillment['trackingCode']}{number}"
        data["items"].append(copied)
    return data


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("--renders", type=int, default=2000, help="renders per measurement")
        parser.add_argument("--items", type=int, default=50, help="order items in the data")

    def handle(self, *args: Any, renders: int, items: int, **options: Any) -> None:
        scenarios = [
            ("documentation example, one item shipped", DOC_EXAMPLE_TEMPLATE, False),
            ("documentation example as a list, all items shipped", DOC_EXAMPLE_AS_LIST, True),
        ]
        for label, source, all_shipped in scenarios:
            data = order_with_items(items, all_shipped=all_shipped)
            template = Template(name="benchmark", body=source)
            result = render_template(template, data)
            if not result.ok:
                raise RuntimeError(f"the benchmark template does not render: {result.error_text()}")
            plain = jinja2.Environment().from_string(source)
            ours_rate = _rate(partial(render_template, template, data), renders)
            plain_rate = _rate(partial(plain.render, data), renders)
            self.stdout.write(
                f"{label}, {items} items, {len(result.message.body):,} characters:\n"
                f"  ours:  {ours_rate:10,.0f} renders/s\n"
                f"  plain: {plain_rate:10,.0f} renders/s\n"
                f"  ratio: {plain_rate / ours_rate:10.2f}x (plain Jinja / ours)"
            )


def _rate(render: Callable[[], object], renders: int) -> float:
    render()  # warm caches
    started = time.perf_counter()
    for _ in range(renders):
        render()
    return renders / (time.perf_counter() - started)
