"""When to try a failed postback again: the published retry schedule and its exceptions."""

from __future__ import annotations

import random

from django.conf import settings

# A receiver that timed out or said "too many requests" gets at least this long to recover.
MIN_WAIT_AFTER_OVERLOAD = 60.0
# Statuses whose Retry-After header is honoured.
RETRY_AFTER_STATUSES = frozenset({429, 503})


def retry_delay(
    attempts_made: int,
    *,
    timed_out: bool = False,
    status: int | None = None,
    retry_after: float | None = None,
) -> float | None:
    """Seconds to wait before the next attempt, or None when the schedule is used up.

    ``attempts_made`` counts the scheduled attempts so far (1 after the first). The scheduled
    wait is spread by ``POSTBACKS_RETRY_JITTER`` either way, so retries to a recovering
    receiver do not arrive all at once. After a timeout or a 429 it is at least 60 s. A
    ``Retry-After`` on 429 or 503 is honoured, kept between the scheduled wait and twice it.
    """
    schedule = settings.POSTBACKS_RETRY_SCHEDULE
    if attempts_made < 1 or attempts_made > len(schedule):
        return None
    jitter = settings.POSTBACKS_RETRY_JITTER
    wait = schedule[attempts_made - 1] * random.uniform(1 - jitter, 1 + jitter)
    if timed_out or status == 429:
        wait = max(wait, MIN_WAIT_AFTER_OVERLOAD)
    if status in RETRY_AFTER_STATUSES and retry_after is not None:
        wait = min(max(retry_after, wait), 2 * wait)
    return wait
