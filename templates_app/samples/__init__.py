"""Realistic sample data for each event, so a template can be tried before any order exists.

Order events are shaped like ``customers.events.order_event_data()`` output; the package
status sample is the documentation's own (see ``shared/reference/events.md``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from customers.events import Event

_FOLDER = Path(__file__).parent


def sample_event_data(event: str) -> dict[str, Any]:
    """A fresh copy of the sample data for ``event``, safe for the caller to change."""
    if event not in Event.values:
        raise ValueError(f'unknown event "{event}"; the events are: {", ".join(Event.values)}')
    return json.loads((_FOLDER / f"{event}.json").read_text(encoding="utf-8"))


# The documentation's example template for "order shipped", exactly as it prints it.
DOC_EXAMPLE_TEMPLATE = (_FOLDER / "doc_order_shipped.json.jinja").read_text(encoding="utf-8")
