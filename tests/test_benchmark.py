"""The benchmark command, end to end with tiny numbers: it must run on every setup the suite
runs on (SQLite and the filesystem queue, PostgreSQL and Redis) and print sane figures."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from customers.models import Customer, Order
from delivery.models import Postback
from triggers.models import Trigger

pytestmark = pytest.mark.e2e


def _figure(output: str, name: str) -> str:
    match = re.search(rf"^  {re.escape(name)} +(.+)$", output, re.MULTILINE)
    assert match, f"{name!r} missing from:\n{output}"
    return match.group(1)


def _number(output: str, name: str) -> float:
    return float(re.match(r"[\d.]+", _figure(output, name)).group())


def test_benchmark_runs_end_to_end_and_cleans_up(transactional_db, celery_broker):
    out = StringIO()
    call_command(
        "benchmark",
        "--orders=5",
        "--triggers=2",
        "--workers=1",
        "--clients=2",
        "--timeout=60",
        stdout=out,
        stderr=StringIO(),
    )
    output = out.getvalue()

    assert "TIMED OUT" not in output
    assert _figure(output, "orders x triggers") == "5 x 2"
    assert _figure(output, "no-op tasks").startswith("10/10 ")
    assert _figure(output, "deliveries").startswith("10/10 ")
    assert _figure(output, "duplicates received") == "0"
    assert _figure(output, "delivered (database)") == "10"
    assert _number(output, "no-op tasks/s") > 0
    assert _number(output, "deliveries/s") > 0
    assert _number(output, "ratio to no-op") > 0
    p50, p95, p99 = (_number(output, f"latency {p}") for p in ("p50", "p95", "p99"))
    assert 0 < p50 <= p95 <= p99 < 60_000  # milliseconds, within the timeout
    # The request's own cost, alone: triggers add the postbacks' INSERT and their queuing.
    queries_0, queries_2 = (_number(output, f"status change, M={m}") for m in (0, 2))
    assert 1 <= queries_0 < queries_2 < 20
    assert _number(output, "firing process RSS") > 10
    assert _number(output, "peak worker RSS") > 10  # MiB: a Django worker is bigger than that
    # Claim, reload, render (lookups), attempt, postback, trigger health: a handful at least.
    assert 3 <= _number(output, "queries per delivery") < 50
    assert 'UPDATE "delivery_postback"' in output
    # What it created for the run is gone again.
    assert not Customer.objects.exists()
    assert not (Order.objects.exists() or Trigger.objects.exists() or Postback.objects.exists())
