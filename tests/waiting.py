"""Waiting for what a worker does in another thread or process."""

import time
from collections.abc import Callable
from typing import TypeVar

from delivery.models import Postback

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 30.0, interval: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def postback_settled(postback: Postback) -> bool:
    postback.refresh_from_db()
    return postback.status in (Postback.Status.DELIVERED, Postback.Status.FAILED)
