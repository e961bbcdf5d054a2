"""The benchmark command, end to end with tiny numbers: it must run on every setup the suite
runs on (SQLite and the filesystem queue, PostgreSQL and Redis) and print sane figures."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from customers.models import Customer, Order
from delivery.models import DestinationSlot, Postback
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


def test_fairness_scenario_runs_three_bursts_and_compares_healthy_latency(
    transactional_db, celery_broker
):
    out = StringIO()
    call_command(
        "benchmark",
        "--scenario=fairness",
        "--orders=4",
        "--receivers=3",
        "--workers=1",
        "--concurrency=2",
        "--clients=2",
        "--http-timeout=1",
        "--timeout=60",
        stdout=out,
        stderr=StringIO(),
    )
    output = out.getvalue()

    assert "TIMED OUT" not in output
    runs = output.split("\nRun: ")[1:]
    assert [run.splitlines()[0] for run in runs] == [
        "all healthy (baseline)",
        "1 hanging, limit on",
        "1 hanging, no limit",
    ]
    for run in runs:
        # The two receivers that stay healthy got the 4 status changes each, once.
        assert _figure(run, "healthy deliveries").startswith("8/8 ")
        p50, p95, p99 = (_number(run, f"healthy latency {p}") for p in ("p50", "p95", "p99"))
        assert 0 < p50 <= p95 <= p99 < 60_000
        assert _number(run, "healthy p99 ratio") > 0
        # Each healthy postback ran once at least; waiting for a slot only adds tasks.
        tasks, postbacks = re.match(
            r"(\d+) for (\d+) ", _figure(run, "delivery tasks run")
        ).groups()
        assert int(postbacks) == 12 and int(tasks) >= 8
    assert _figure(runs[0], "healthy p99 ratio").startswith("1.00 ")
    assert "hangs" not in _figure(runs[0], "requests to the last")
    assert _figure(runs[1], "requests to the last").endswith("(it hangs: each one timed out)")
    assert _figure(runs[2], "destination limit") == "none"
    assert not (Customer.objects.exists() or Postback.objects.exists())
    assert not DestinationSlot.objects.exists()
