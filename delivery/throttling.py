"""Fairness between receivers: a per-destination concurrency limit and per-trigger rates.

Both are atomic conditional UPDATEs in the database every worker shares, so they hold across
processes and machines, on PostgreSQL and on SQLite alike.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q, Subquery
from django.utils import timezone

from triggers.models import Trigger

from .models import DestinationSlot


def destination_key(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def acquire_slot(destination: str, postback_id: int) -> bool:
    """Take a free slot of ``destination`` for ``postback_id``; False when all are busy."""
    limit = settings.POSTBACKS_DESTINATION_CONCURRENCY
    if limit <= 0:
        return True
    if _take_free_slot(destination, postback_id):
        return True
    # Slots are created on first use (and when the limit was raised). Each further failure
    # means another worker took the slot this one picked, so after ``limit`` of them every
    # slot is surely busy.
    DestinationSlot.objects.bulk_create(
        [DestinationSlot(destination=destination, number=n) for n in range(limit)],
        ignore_conflicts=True,
    )
    return any(_take_free_slot(destination, postback_id) for _ in range(limit))


def _take_free_slot(destination: str, postback_id: int) -> bool:
    now = timezone.now()
    free = Q(destination=destination, number__lt=settings.POSTBACKS_DESTINATION_CONCURRENCY) & (
        Q(holder__isnull=True) | Q(lease_expires_at__lt=now)
    )
    candidate = DestinationSlot.objects.filter(free).order_by("number").values("pk")[:1]
    # ``free`` is repeated outside the subquery so that of two workers picking the same slot,
    # the one that updates second finds it taken (PostgreSQL re-checks the WHERE clause).
    return bool(
        DestinationSlot.objects.filter(free, pk=Subquery(candidate)).update(
            holder=postback_id,
            lease_expires_at=now + timedelta(seconds=settings.POSTBACKS_CLAIM_TIMEOUT),
        )
    )


def release_slot(destination: str, postback_id: int) -> None:
    DestinationSlot.objects.filter(destination=destination, holder=postback_id).update(
        holder=None, lease_expires_at=None
    )


def rate_limit_wait(trigger: Trigger) -> float:
    """Seconds to wait before this trigger may send again; 0 means "send now" (and the next
    send is then reserved 1/rate seconds later)."""
    if not trigger.rate_limit:
        return 0.0
    now = timezone.now()
    interval = timedelta(seconds=1 / trigger.rate_limit)
    if Trigger.objects.filter(
        Q(next_send_at__isnull=True) | Q(next_send_at__lte=now), pk=trigger.pk
    ).update(next_send_at=now + interval):
        return 0.0
    next_send_at = Trigger.objects.values_list("next_send_at", flat=True).get(pk=trigger.pk)
    return max((next_send_at - now).total_seconds(), 0.01)
