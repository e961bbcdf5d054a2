"""Prometheus metrics for /metrics, read from the database at scrape time.

The delivery log is the source of truth and is shared by every worker on every machine, so
metrics computed from it are complete and need no per-process state. Totals come from the
postbacks and attempts tables (rows are never deleted, so they only grow); the latency and
duration histograms cover the last hour, as gauge histograms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, QuerySet, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    Metric,
)

from .models import DeliveryAttempt, Postback

DUE = (Postback.Status.PENDING, Postback.Status.RETRYING)
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400)
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30)
WINDOW = timedelta(hours=1)


class DeliveryCollector:
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        created = CounterMetricFamily(
            "postbacks_created", "Postbacks created, by event.", labels=["event"]
        )
        by_status = GaugeMetricFamily(
            "postbacks", "Postbacks by event and current status.", labels=["event", "status"]
        )
        created_counts: dict[str, int] = {}
        for row in Postback.objects.values("event", "status").annotate(n=Count("id")):
            by_status.add_metric([row["event"], row["status"]], row["n"])
            created_counts[row["event"]] = created_counts.get(row["event"], 0) + row["n"]
        for event, count in created_counts.items():
            created.add_metric([event], count)
        yield created
        yield by_status

        attempts = CounterMetricFamily(
            "postback_attempts",
            "Delivery attempts by event and outcome (success, retryable = retried, permanent).",
            labels=["event", "outcome"],
        )
        for row in DeliveryAttempt.objects.values("postback__event", "outcome").annotate(
            n=Count("id")
        ):
            attempts.add_metric([row["postback__event"], row["outcome"]], row["n"])
        yield attempts

        due = Postback.objects.filter(status__in=DUE, next_attempt_at__lte=now).aggregate(
            n=Count("id"), oldest=Min("next_attempt_at")
        )
        yield GaugeMetricFamily(
            "postbacks_due", "Postbacks due and not yet sent (the backlog).", value=due["n"]
        )
        oldest = (now - due["oldest"]).total_seconds() if due["oldest"] else 0.0
        yield GaugeMetricFamily(
            "postbacks_oldest_due_age_seconds",
            "How long the oldest due postback has been waiting.",
            value=oldest,
        )

        latency = ExpressionWrapper(
            F("delivered_at") - F("created_at"), output_field=DurationField()
        )
        recent = Postback.objects.filter(delivered_at__gte=now - WINDOW).annotate(latency=latency)
        yield _histogram(
            "postback_delivery_latency_seconds",
            "From the event to delivery, for postbacks delivered in the last hour.",
            recent,
            "latency",
            LATENCY_BUCKETS,
            threshold=lambda bound: timedelta(seconds=bound),
            to_seconds=lambda total: total.total_seconds(),
        )
        yield _histogram(
            "postback_attempt_duration_seconds",
            "Duration of delivery attempts started in the last hour.",
            DeliveryAttempt.objects.filter(started_at__gte=now - WINDOW),
            "duration_ms",
            DURATION_BUCKETS,
            threshold=lambda bound: bound * 1000,
            to_seconds=lambda total: total / 1000,
        )


def _histogram(
    name: str,
    documentation: str,
    queryset: QuerySet,
    field: str,
    buckets: tuple[float, ...],
    *,
    threshold: Callable[[float], Any],
    to_seconds: Callable[[Any], float],
) -> Metric:
    """A gauge histogram of ``field`` computed in one query, one conditional count per bucket."""
    counts = queryset.aggregate(
        total=Count("id"),
        sum=Sum(field),
        **{
            f"le_{i}": Count("id", filter=Q(**{f"{field}__lte": threshold(bound)}))
            for i, bound in enumerate(buckets)
        },
    )
    family = GaugeHistogramMetricFamily(name, documentation)
    family.add_metric(
        [],
        [(str(bound), counts[f"le_{i}"]) for i, bound in enumerate(buckets)]
        + [("+Inf", counts["total"])],
        gsum_value=to_seconds(counts["sum"]) if counts["sum"] is not None else 0.0,
    )
    return family


registry = CollectorRegistry(auto_describe=False)
registry.register(DeliveryCollector())
