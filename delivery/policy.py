"""When to try a failed postback again: the published retry schedule."""

import random

from django.conf import settings


def retry_delay(attempts_made: int) -> float | None:
    """Seconds to wait before the next attempt, or None when the schedule is used up.

    ``attempts_made`` counts the attempts so far (1 after the first). The wait is spread by
    ``POSTBACKS_RETRY_JITTER`` either way so retries to a recovering receiver do not arrive
    all at once.
    """
    schedule = settings.POSTBACKS_RETRY_SCHEDULE
    if attempts_made < 1 or attempts_made > len(schedule):
        return None
    jitter = settings.POSTBACKS_RETRY_JITTER
    return schedule[attempts_made - 1] * random.uniform(1 - jitter, 1 + jitter)
