"""Template filters for the delivery pages."""

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A latency as people read it: 850 ms, 4.2 s, 12 min, 3.5 h; a dash when unknown."""
    if value is None:
        return "—"
    seconds = value.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"
