"""Read-only queries for the delivery log and the overview page.

Everything is counted in the database, in a fixed number of queries whatever the number of
postbacks and triggers, so the overview stays fast on a long log. Test sends (``is_test``)
are left out of every figure: they say nothing about how real deliveries go.

Definitions, for a window (the last 24 hours, the last 7 days) of postbacks created in it:

- sent: attempted at least once; delivered, failed, retrying: their status now;
- success rate: delivered ÷ (delivered + failed), i.e. of the postbacks that have settled,
  the share delivered (retrying ones are still open); none when nothing has settled;
- median latency: the median, over delivered postbacks, of ``delivered_at - created_at``:
  from the event (the status change) to the receiver's 2xx, queueing and retries included.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber, Trunc

from triggers.models import Trigger

from .models import DeliveryAttempt, Postback

WINDOWS = {"day": timedelta(hours=24), "week": timedelta(days=7)}
STATUS_COUNTS = {
    "sent": Q(attempt_count__gt=0),
    "delivered": Q(status=Postback.Status.DELIVERED),
    "failed": Q(status=Postback.Status.FAILED),
    "retrying": Q(status=Postback.Status.RETRYING),
}


@dataclass
class WindowStats:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    retrying: int = 0
    median_latency: timedelta | None = None

    @property
    def success_rate(self) -> float | None:
        settled = self.delivered + self.failed
        return 100 * self.delivered / settled if settled else None

    def add(self, other: WindowStats) -> None:
        for name in STATUS_COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class TriggerOverview:
    trigger: Trigger
    last_error: str
    windows: dict[str, WindowStats]

    @property
    def needs_attention(self) -> bool:
        """Deactivated by the system (410 Gone, days of failures) or failing right now."""
        return bool(self.trigger.deactivated_at or self.trigger.failing_since)

    @property
    def why(self) -> str:
        return self.trigger.deactivation_reason or self.last_error


@dataclass
class Bucket:
    start: datetime
    delivered: int = 0
    failed: int = 0
    total: int = 0

    @property
    def other(self) -> int:
        """Neither delivered nor failed yet: pending, retrying or skipped."""
        return self.total - self.delivered - self.failed


@dataclass
class Chart:
    title: str
    buckets: list[Bucket]
    label_format: str  # for the template's date filter

    @property
    def peak(self) -> int:
        """The tallest bar's count (at least 1): bars are drawn relative to it."""
        return max((bucket.total for bucket in self.buckets), default=0) or 1


@dataclass
class Overview:
    now: datetime
    triggers: list[TriggerOverview]
    totals: dict[str, WindowStats]
    charts: list[Chart] = field(default_factory=list)

    @property
    def attention(self) -> list[TriggerOverview]:
        return [row for row in self.triggers if row.needs_attention]


def real_postbacks_since(since: datetime) -> QuerySet[Postback]:
    return Postback.objects.filter(is_test=False, created_at__gte=since)


def overview(now: datetime) -> Overview:
    """Per trigger and in total, for the last 24 hours and 7 days: what was sent and how it
    went; triggers needing attention first. Six queries."""
    starts = {name: now - length for name, length in WINDOWS.items()}
    counts = _counts_by_trigger(starts)
    medians = {name: _median_latencies(since) for name, since in starts.items()}
    last_error = (
        Postback.objects.filter(trigger=OuterRef("pk"))
        .exclude(last_error="")
        .order_by("-created_at")
        .values("last_error")[:1]
    )
    triggers = Trigger.objects.select_related("customer").annotate(last_error=Subquery(last_error))
    rows = []
    totals = {name: WindowStats() for name in WINDOWS}
    for trigger in triggers:
        windows = {}
        for name in WINDOWS:
            stats = counts.get((trigger.pk, name), WindowStats())
            stats.median_latency = medians[name].get(trigger.pk)
            totals[name].add(stats)
            windows[name] = stats
        rows.append(TriggerOverview(trigger, trigger.last_error or "", windows))
    rows.sort(
        key=lambda row: (
            not row.trigger.deactivated_at,
            not row.trigger.failing_since,
            -row.windows["week"].sent,
            row.trigger.customer.name,
            row.trigger.name,
        )
    )
    charts = [
        Chart(
            "Last 24 hours, per hour",
            _buckets(starts["day"], now, "hour", timedelta(hours=1)),
            "D H:00",
        ),
        Chart(
            "Last 7 days, per day",
            _buckets(starts["week"], now, "day", timedelta(days=1)),
            "D j M",
        ),
    ]
    return Overview(now=now, triggers=rows, totals=totals, charts=charts)


def _counts_by_trigger(starts: dict[str, datetime]) -> dict[tuple[int, str], WindowStats]:
    """One query: for each trigger, each window's counts by conditional aggregation."""
    aggregates = {
        f"{window}__{name}": Count("pk", filter=condition & Q(created_at__gte=since))
        for window, since in starts.items()
        for name, condition in STATUS_COUNTS.items()
    }
    earliest = min(starts.values())
    result = {}
    for row in real_postbacks_since(earliest).values("trigger_id").annotate(**aggregates):
        for window in starts:
            result[(row["trigger_id"], window)] = WindowStats(
                **{name: row[f"{window}__{name}"] for name in STATUS_COUNTS}
            )
    return result


def _median_latencies(since: datetime) -> dict[int, timedelta]:
    """One query: per trigger, the median of ``delivered_at - created_at``.

    Window functions number each trigger's latencies in order and the database keeps only
    the middle one (odd count) or two (even count); their mean is the median.
    """
    latency = ExpressionWrapper(F("delivered_at") - F("created_at"), output_field=DurationField())
    middle = (
        real_postbacks_since(since)
        .filter(status=Postback.Status.DELIVERED, delivered_at__isnull=False)
        .annotate(
            latency=latency,
            position=Window(RowNumber(), partition_by=F("trigger_id"), order_by=latency.asc()),
            delivered=Window(Count("pk"), partition_by=F("trigger_id")),
        )
        .annotate(twice=F("position") * 2)
        .filter(twice__gte=F("delivered"), twice__lte=F("delivered") + 2)
        .values_list("trigger_id", "latency")
    )
    values: dict[int, list[timedelta]] = defaultdict(list)
    for trigger_id, value in middle:
        values[trigger_id].append(value)
    return {trigger_id: sum(pair, timedelta()) / len(pair) for trigger_id, pair in values.items()}


def _buckets(since: datetime, now: datetime, kind: str, step: timedelta) -> list[Bucket]:
    """One query: postbacks created per hour (or day), by how they ended, gaps filled."""
    rows = (
        real_postbacks_since(since)
        .annotate(start=Trunc("created_at", kind))
        .values("start")
        .annotate(
            total=Count("pk"),
            delivered=Count("pk", filter=STATUS_COUNTS["delivered"]),
            failed=Count("pk", filter=STATUS_COUNTS["failed"]),
        )
    )
    found = {row["start"]: row for row in rows}
    first = since.replace(minute=0, second=0, microsecond=0)
    if kind == "day":
        first = first.replace(hour=0)
    buckets = []
    start = first
    while start <= now:
        row = found.get(start, {})
        buckets.append(
            Bucket(
                start,
                delivered=row.get("delivered", 0),
                failed=row.get("failed", 0),
                total=row.get("total", 0),
            )
        )
        start += step
    return buckets


def search_postbacks(queryset: QuerySet[Postback], term: str) -> QuerySet[Postback]:
    """The delivery log's search: an exact order reference, or a webhook-id (``msg_…`` or
    the bare UUID) as receivers log it. Exact matches use the indexes on both columns."""
    term = term.strip()
    if not term:
        return queryset
    try:
        public_id = uuid.UUID(term.removeprefix("msg_"))
    except ValueError:
        return queryset.filter(order_reference=term)
    return queryset.filter(Q(public_id=public_id) | Q(order_reference=term))


def recent_postbacks(customer_id: int, limit: int = 20) -> QuerySet[Postback]:
    """A customer's latest postbacks, tests included, for its page."""
    return (
        Postback.objects.filter(trigger__customer_id=customer_id)
        .select_related("trigger")
        .order_by("-created_at", "-id")[:limit]
    )


def order_postbacks(order_id: int) -> QuerySet[Postback]:
    """An order's postbacks, newest first, for its page (a handful per order)."""
    return (
        Postback.objects.filter(order_id=order_id)
        .select_related("trigger")
        .order_by("-created_at", "-id")
    )


def last_test_attempt(trigger_id: int) -> DeliveryAttempt | None:
    """The latest attempt of the trigger's Send test postbacks, shown on its page."""
    return (
        DeliveryAttempt.objects.filter(postback__trigger_id=trigger_id, postback__is_test=True)
        .select_related("postback")
        .order_by("-started_at", "-id")
        .first()
    )
