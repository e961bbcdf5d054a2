"""The delivery benchmark: how fast status changes become webhooks, against Celery's own ceiling.

One run, on the configured database and broker, with real ``celery worker`` processes and a
fast receiver on 127.0.0.1 (``delivery.benchmark_receiver``):

1. the no-op phase publishes K tasks that do nothing and times how fast the workers get
   through them: the ceiling Celery itself imposes with these workers and this broker;
2. the delivery phase changes N orders' status, each in its own transaction as a request
   would, fanning out to M triggers each, and times every request from the commit of its
   status change to its receipt (matched by ``webhook-id``).

Before the workers start, it also times what a status change costs the request that makes it,
with no trigger and with M triggers, so that the signal's own overhead is measured apart from
workers competing for the same CPU.

The fairness scenario (``run_fairness``) fires the same burst at R receivers three times:
all healthy, with one that hangs until the delivery timeout, and that again without the
per-destination concurrency limit; it compares the healthy receivers' latency across them.

The same workers serve both phases, so pool, concurrency, prefetch and acks_late are the same
by construction. Everything runs on a queue of its own, so no other worker on the broker
takes the benchmark's messages and purging it touches nobody else's; the benchmark's
customer, template, triggers, orders and postbacks are deleted afterwards.

This module is also imported by the benchmark's workers (``--include``): that registers the
no-op task and, with ``POSTBACKS_BENCHMARK_STATS_DIR`` set, counts the SQL each worker runs.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import celery
from celery import shared_task
from celery.signals import worker_process_init, worker_process_shutdown, worker_shutdown
from django.conf import settings
from django.db import connection, transaction
from django.db.backends.signals import connection_created
from django.test import override_settings

from customers.events import Event, OrderStatus
from customers.models import Customer, Order
from customers.services import change_order_status
from postbacks_site.celery import app
from postbacks_site.worker_process import WorkerProcess
from templates_app.models import Template
from triggers.models import Trigger

from .benchmark_receiver import Receipt, ReceiverProcess
from .demo import DEMO_ORDER_DATA, DEMO_TEMPLATE
from .envelopes import webhook_id
from .models import DestinationSlot, Postback
from .throttling import destination_key

QUEUE = "postbacks-benchmark"
RETRY_QUEUE = "postbacks-benchmark-retries"
# Workers and this process route first attempts and retries (and waits for a busy
# destination) to the benchmark's own queues.
QUEUE_SETTINGS = {"POSTBACKS_QUEUE": QUEUE, "POSTBACKS_RETRY_QUEUE": RETRY_QUEUE}
STATS_DIR_ENV = "POSTBACKS_BENCHMARK_STATS_DIR"
# Counted beside the SQL statements: database connections the workers opened.
CONNECTIONS = "(database connections opened)"
# How many status changes of each kind time the request's own cost (no workers running).
COST_SAMPLE = 200


@shared_task(acks_late=True, ignore_result=True)
def noop(marker: str) -> None:
    """Does nothing but say it ran: one byte appended to ``marker`` (O_APPEND writes are
    atomic), which works the same on every broker and costs microseconds."""
    with open(marker, "ab", buffering=0) as file:
        file.write(b".")


class QueryCounter:
    """A Django execute wrapper that counts statements by their SQL (placeholders unfilled,
    so every delivery's "UPDATE postback ... WHERE id = %s" is one line)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        with self.lock:
            self.counts[sql] += 1
        return execute(sql, params, many, context)


def _count_worker_queries(stats_dir: Path) -> None:
    """In a benchmark worker: count every statement on every connection, and write the counts
    to ``stats_dir/<pid>.json`` when the process (or, in prefork, each child) shuts down."""
    counter = QueryCounter()

    def wrap(sender, connection, **kwargs):  # type: ignore[no-untyped-def]
        # Fires on every (re)connection of a thread's DatabaseWrapper, which keeps its list.
        with counter.lock:
            counter.counts[CONNECTIONS] += 1
        if counter not in connection.execute_wrappers:
            connection.execute_wrappers.append(counter)

    def reset(**kwargs):  # type: ignore[no-untyped-def]
        counter.counts.clear()  # a prefork child starts from the parent's copy

    def dump(**kwargs):  # type: ignore[no-untyped-def]
        if counter.counts:
            (stats_dir / f"{os.getpid()}.json").write_text(json.dumps(counter.counts))

    connection_created.connect(wrap, weak=False)
    worker_process_init.connect(reset, weak=False)
    worker_process_shutdown.connect(dump, weak=False)
    worker_shutdown.connect(dump, weak=False)


if os.environ.get(STATS_DIR_ENV):
    _count_worker_queries(Path(os.environ[STATS_DIR_ENV]))


@dataclass(frozen=True)
class Options:
    orders: int = 1000
    triggers: int = 1
    workers: int = 2
    concurrency: int = 2
    pool: str = "prefork"
    clients: int = 4  # threads firing status changes at once, as concurrent requests would
    noop_tasks: int | None = None  # None: as many as deliveries expected (orders x triggers)
    timeout: float = 600.0


@dataclass
class Report:
    options: Options
    environment: dict[str, str]
    noop_published: int = 0
    noop_done: int = 0
    noop_seconds: float = 0.0
    status_changes: int = 0
    fire_seconds: float = 0.0
    driver_queries: int = 0
    fire_request_seconds: float = 0.0  # the status changes' own durations, added up
    # (queries, ms) per status change made alone with no workers running, by trigger count
    cost: dict[int, tuple[float, float]] = field(default_factory=dict)
    firing_peak_rss_kib: int = 0
    expected: int = 0
    received: int = 0
    duplicates: int = 0
    delivery_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    delivered_in_db: int = 0
    worker_queries: Counter[str] = field(default_factory=Counter)
    peak_rss_kib: list[tuple[int, int, int]] = field(default_factory=list)  # per worker
    timed_out: bool = False

    @property
    def noop_rate(self) -> float:
        return self.noop_done / self.noop_seconds if self.noop_seconds else 0.0

    @property
    def delivery_rate(self) -> float:
        unique = self.received - self.duplicates
        return unique / self.delivery_seconds if self.delivery_seconds else 0.0

    def percentile(self, fraction: float) -> float:
        return _percentile(self.latencies, fraction)


def _percentile(latencies: list[float], fraction: float) -> float:
    """Nearest-rank percentile of the latencies, in seconds."""
    ordered = sorted(latencies)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil, at least the first
    return ordered[int(rank) - 1]


def run(options: Options, progress: Callable[[str], None]) -> Report:
    """Run both phases once and return their figures; always stops by ``options.timeout``
    (plus the bounded time to start and stop workers) and always deletes its data."""
    deadline = time.monotonic() + options.timeout
    report = Report(options=options, environment=_environment(options))
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pb-benchmark-")))
        stats_dir = folder / "stats"
        stats_dir.mkdir()
        receiver = stack.enter_context(ReceiverProcess())
        stack.enter_context(_benchmark_queue())
        progress(f"status change cost: {COST_SAMPLE} with no trigger, {COST_SAMPLE} with M")
        report.cost = _status_change_cost(receiver, options.triggers)
        fixture = _create_fixture(_trigger_urls(receiver, options.triggers), options.orders)
        stack.callback(_remove_fixture, fixture)
        with ExitStack() as running:
            progress(f"starting {options.workers} worker(s)")
            workers = _start_workers(running, folder, stats_dir, options)
            noop_tasks = options.noop_tasks or options.orders * options.triggers
            progress(f"no-op phase: {noop_tasks} tasks")
            _noop_phase(report, noop_tasks, folder / "noop-marker", deadline)
            progress(f"delivery phase: {options.orders} orders x {options.triggers} triggers")
            committed = _delivery_phase(report, fixture, receiver, deadline, progress)
            report.peak_rss_kib = [_peak_rss_kib(worker.pid) for worker in workers]
            report.firing_peak_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            progress("stopping workers")
        # Stopped: every worker process has written its query counts.
        report.worker_queries = _worker_queries(stats_dir)
        _match_receipts(report, fixture, receiver.receipts, committed)
    return report


def _start_workers(
    stack: ExitStack,
    folder: Path,
    stats_dir: Path,
    options: Options | FairnessOptions,
    **env: str,
) -> list[WorkerProcess]:
    """The benchmark's workers, on its own queues, counting their SQL into ``stats_dir``;
    ``stack`` stops them."""
    return [
        stack.enter_context(
            WorkerProcess(
                folder / f"benchmark-{number}.log",
                pool=options.pool,
                concurrency=options.concurrency,
                extra_args=[f"--queues={QUEUE},{RETRY_QUEUE}", f"--include={__name__}"],
                **{STATS_DIR_ENV: str(stats_dir)},
                **QUEUE_SETTINGS,
                **env,
            )
        )
        for number in range(1, options.workers + 1)
    ]


def _worker_queries(stats_dir: Path) -> Counter[str]:
    """What the stopped workers counted, added up."""
    counts: Counter[str] = Counter()
    for path in stats_dir.glob("*.json"):
        counts.update(json.loads(path.read_text()))
    return counts


@dataclass
class _Fixture:
    customer: Customer
    template: Template
    orders: list[Order]
    destinations: set[str]


@contextmanager
def _benchmark_queue() -> Iterator[None]:
    """Send this process's postbacks to the benchmark's own queues, empty before and after."""
    _purge()
    try:
        with override_settings(**QUEUE_SETTINGS):
            yield
    finally:
        _purge()


def _purge() -> None:
    with app.connection_for_write() as broker:
        for queue in QUEUE_SETTINGS.values():
            app.amqp.queues[queue].bind(broker.default_channel).purge()


def _trigger_urls(receiver: ReceiverProcess, triggers: int) -> list[str]:
    return [receiver.url(f"/benchmark/{number}") for number in range(1, triggers + 1)]


def _create_fixture(urls: list[str], orders: int) -> _Fixture:
    """A customer of its own with a trigger on "order shipped" for each of ``urls`` and
    ``orders`` orders in "produced" (bulk-created: creating them raises no event)."""
    tag = f"benchmark-{uuid.uuid4().hex[:12]}"
    with transaction.atomic():
        customer = Customer.objects.create(name=f"Benchmark {tag}", reference_id=tag)
        template = Template.objects.create(name=f"Benchmark {tag}", body=DEMO_TEMPLATE)
        Trigger.objects.bulk_create(
            Trigger(
                customer=customer,
                name=f"Benchmark trigger {number}",
                event=Event.ORDER_SHIPPED,
                template=template,
                url=url,
            )
            for number, url in enumerate(urls, start=1)
        )
        Order.objects.bulk_create(
            (
                Order(
                    customer=customer,
                    reference_id=f"{tag}-{number}",
                    status=OrderStatus.PRODUCED,
                    data=DEMO_ORDER_DATA,
                )
                for number in range(1, orders + 1)
            ),
            batch_size=1000,
        )
    # As an API view would load them: status_at_load set, customer at hand.
    loaded = list(Order.objects.filter(customer=customer).select_related("customer"))
    destinations = {destination_key(url) for url in urls}
    return _Fixture(customer=customer, template=template, orders=loaded, destinations=destinations)


def _remove_fixture(fixture: _Fixture) -> None:
    customer = fixture.customer
    with transaction.atomic():
        Postback.objects.filter(trigger__customer=customer).delete()  # attempts go with them
        Order.objects.filter(customer=customer).delete()
        Trigger.objects.filter(customer=customer).delete()
        fixture.template.delete()
        customer.delete()
        # Slots of the receiver's ports, which are not reused (a killed worker leaves its own).
        DestinationSlot.objects.filter(destination__in=fixture.destinations).delete()


def _status_change_cost(receiver: ReceiverProcess, triggers: int) -> dict[int, tuple[float, float]]:
    """(queries, ms) per status change, made one after another by a single client while no
    worker runs, with no trigger and with ``triggers`` triggers: the request's own cost,
    including queuing the postbacks after the commit. What it queued is purged."""
    cost = {}
    for count in sorted({0, triggers}):
        fixture = _create_fixture(_trigger_urls(receiver, count), COST_SAMPLE)
        try:
            burst = _fire_burst(fixture.orders, 1, time.monotonic() + 600)
            changes = len(burst.committed) or 1
            cost[count] = (burst.queries() / changes, 1000 * burst.request_seconds / changes)
        finally:
            _purge()
            _remove_fixture(fixture)
    return cost


def _noop_phase(report: Report, count: int, marker: Path, deadline: float) -> None:
    marker.touch()
    started = time.monotonic()
    for _ in range(count):
        noop.apply_async((str(marker),), queue=QUEUE)
    report.noop_published = count
    done = 0
    while time.monotonic() < deadline:
        done = marker.stat().st_size
        if done >= count:
            break
        time.sleep(0.002)
    else:
        report.timed_out = True
    report.noop_done = done
    report.noop_seconds = time.monotonic() - started


def _delivery_phase(
    report: Report,
    fixture: _Fixture,
    receiver: ReceiverProcess,
    deadline: float,
    progress: Callable[[str], None],
) -> dict[int, float]:
    """Fire the status changes from ``clients`` threads; returns each order's commit time
    (time.time, like the receipts)."""
    burst = _fire_burst(fixture.orders, report.options.clients, deadline)
    report.fire_seconds = burst.seconds
    report.status_changes = len(burst.committed)
    report.timed_out = report.status_changes < len(fixture.orders)
    report.driver_queries = burst.queries()
    report.fire_request_seconds = burst.request_seconds
    report.expected = len(burst.committed) * report.options.triggers
    progress(f"fired {len(burst.committed)} status changes in {report.fire_seconds:.1f} s")
    received = receiver.wait_for(
        report.expected, deadline, lambda n: progress(f"received {n}/{report.expected}")
    )
    if received < report.expected:
        report.timed_out = True
    return burst.committed


@dataclass
class _Burst:
    """What firing status changes measured, added to by every client thread."""

    committed: dict[int, float] = field(default_factory=dict)  # order id: time.time of commit
    counter: QueryCounter = field(default_factory=QueryCounter)
    request_seconds: float = 0.0
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def queries(self) -> int:
        return sum(self.counter.counts.values())


def _fire_burst(orders: list[Order], clients: int, deadline: float) -> _Burst:
    """Change every order's status from ``clients`` threads at once, as concurrent requests
    would; stops early at ``deadline``."""
    burst = _Burst()
    started = time.monotonic()
    threads = [
        threading.Thread(target=_fire, args=(orders[number::clients], burst, deadline))
        for number in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    burst.seconds = time.monotonic() - started
    return burst


def _fire(orders: list[Order], burst: _Burst, deadline: float) -> None:
    """One client: each status change in its own transaction, as one request would make it."""
    try:
        with connection.execute_wrapper(burst.counter):
            for order in orders:
                if time.monotonic() >= deadline:
                    return
                started = time.perf_counter()
                with transaction.atomic():
                    # Registered first, so it runs first after COMMIT, before the enqueueing.
                    transaction.on_commit(partial(_stamp, burst.committed, order.pk))
                    change_order_status(order, OrderStatus.SHIPPED)
                took = time.perf_counter() - started  # the enqueueing after COMMIT included
                with burst.lock:
                    burst.request_seconds += took
    finally:
        connection.close()  # this thread's own connection


def _stamp(committed: dict[int, float], order_id: int) -> None:
    committed[order_id] = time.time()


def _match_receipts(
    report: Report,
    fixture: _Fixture,
    receipts: list[Receipt],
    committed: dict[int, float],
) -> None:
    """Latency of each postback's first request: receipt minus its order's commit."""
    postbacks = _postbacks(fixture)
    order_of = _order_of_webhooks(postbacks)
    report.delivered_in_db = sum(p.status == Postback.Status.DELIVERED for p in postbacks)
    report.received = len(receipts)
    seen: set[str] = set()
    for message_id, received_at, _ in receipts:
        if message_id in seen:
            report.duplicates += 1
            continue
        seen.add(message_id)
        order_id = order_of.get(message_id)
        if order_id in committed:
            report.latencies.append(received_at - committed[order_id])
    if committed and receipts:
        report.delivery_seconds = max(r.received_at for r in receipts) - min(committed.values())


def _postbacks(fixture: _Fixture) -> list[Postback]:
    return list(
        Postback.objects.filter(trigger__customer=fixture.customer).only(
            "public_id", "order_id", "status"
        )
    )


def _order_of_webhooks(postbacks: list[Postback]) -> dict[str, int | None]:
    return {webhook_id(postback): postback.order_id for postback in postbacks}


def _peak_rss_kib(pid: int) -> tuple[int, int, int]:
    """(VmHWM of the worker's main process, summed VmHWM of its child processes, how many
    children) in KiB, from /proc; zeros where /proc is not there. Children share pages with
    their parent, so the sum over-counts: it is an upper bound."""
    children = [child for child in _all_pids() if _parent_of(child) == pid]
    return _vm_hwm(pid), sum(_vm_hwm(child) for child in children), len(children)


def _all_pids() -> list[int]:
    proc = Path("/proc")
    return [int(entry.name) for entry in proc.iterdir() if entry.name.isdigit()]


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _vm_hwm(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _environment(options: Options) -> dict[str, str]:
    db = connection.settings_dict
    vendor = connection.vendor
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            vendor = f"PostgreSQL {cursor.fetchone()[0]}"
    return {
        "database": f"{vendor} ({db['NAME']})",
        "broker": app.connection_for_write().as_uri(),
        "pool": f"{options.pool}, {options.workers} worker(s) x concurrency {options.concurrency}",
        "firing clients": f"{options.clients} thread(s), one transaction per status change",
        "prefetch multiplier": str(settings.CELERY_WORKER_PREFETCH_MULTIPLIER),
        "acks_late": str(settings.CELERY_TASK_ACKS_LATE),
        "orders x triggers": f"{options.orders} x {options.triggers}",
        "machine": f"{os.cpu_count()} CPU(s), Python {platform.python_version()}, "
        f"Celery {celery.__version__}",
    }


@dataclass(frozen=True)
class FairnessOptions:
    orders: int = 100  # each fans out to one trigger per receiver
    receivers: int = 10  # destinations on distinct ports; in the bad runs, the last hangs
    workers: int = 2
    # 2 x 4 worker processes: the hanging receiver could take every one of them but for the
    # per-destination limit (4 by default).
    concurrency: int = 4
    pool: str = "prefork"
    clients: int = 4
    http_timeout: float = 5.0  # the workers' POSTBACKS_HTTP_TIMEOUT: how long a hang lasts
    timeout: float = 300.0  # for each of the three runs


@dataclass
class FairnessRun:
    name: str
    hanging: int
    destination_concurrency: int
    expected: int = 0  # requests to the receivers that stay healthy in every run
    received: int = 0
    last_received: int = 0  # requests the last receiver got (each a timeout if it hangs)
    latencies: list[float] = field(default_factory=list)  # healthy receivers' only
    fire_seconds: float = 0.0
    delivery_seconds: float = 0.0
    tasks: int = 0  # delivery tasks the workers ran: one per postback, plus each wait's
    postbacks: int = 0
    timed_out: bool = False

    def percentile(self, fraction: float) -> float:
        return _percentile(self.latencies, fraction)


def run_fairness(
    options: FairnessOptions, progress: Callable[[str], None]
) -> tuple[dict[str, str], list[FairnessRun]]:
    """The same burst three times, each with fresh workers and receivers: all healthy, the
    last receiver hanging, and that again with the per-destination limit lifted. Each run
    ends once the healthy receivers got everything (or by ``options.timeout``): the hanging
    one's postbacks are left to time out, which is what the comparison is about."""
    limit = settings.POSTBACKS_DESTINATION_CONCURRENCY
    runs = [
        FairnessRun("all healthy (baseline)", hanging=0, destination_concurrency=limit),
        FairnessRun("1 hanging, limit on", hanging=1, destination_concurrency=limit),
        FairnessRun("1 hanging, no limit", hanging=1, destination_concurrency=0),
    ]
    environment = {
        **_environment(
            Options(
                orders=options.orders,
                triggers=options.receivers,
                workers=options.workers,
                concurrency=options.concurrency,
                pool=options.pool,
                clients=options.clients,
            )
        ),
        "receivers": f"{options.receivers} on distinct ports; one trigger each per order",
        "delivery timeout": f"{options.http_timeout:g} s (the hanging receiver's cost)",
        "destination limit": f"{limit} (POSTBACKS_DESTINATION_CONCURRENCY), wait "
        f"{settings.POSTBACKS_DESTINATION_WAIT:g} s",
    }
    for run_ in runs:
        progress(f"fairness: {run_.name}")
        _fairness_run(run_, options, progress)
    return environment, runs


def _fairness_run(
    run_: FairnessRun, options: FairnessOptions, progress: Callable[[str], None]
) -> None:
    deadline = time.monotonic() + options.timeout
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pb-fairness-")))
        stats_dir = folder / "stats"
        stats_dir.mkdir()
        stack.enter_context(_benchmark_queue())
        receiver = stack.enter_context(
            ReceiverProcess(ports=options.receivers, hanging=run_.hanging)
        )
        urls = [receiver.url("/fairness", port) for port in receiver.ports]
        fixture = _create_fixture(urls, options.orders)
        stack.callback(_remove_fixture, fixture)
        healthy = receiver.ports[: options.receivers - 1]  # healthy in every run
        with ExitStack() as running:
            _start_workers(
                running,
                folder,
                stats_dir,
                options,
                POSTBACKS_HTTP_TIMEOUT=str(options.http_timeout),
                POSTBACKS_DESTINATION_CONCURRENCY=str(run_.destination_concurrency),
            )
            burst = _fire_burst(fixture.orders, options.clients, deadline)
            run_.fire_seconds = burst.seconds
            run_.expected = len(burst.committed) * len(healthy)
            received = receiver.wait_for(
                run_.expected,
                deadline,
                lambda n: progress(f"received {n}/{run_.expected} at the healthy receivers"),
                ports=healthy,
            )
            run_.timed_out = received < run_.expected or len(burst.committed) < options.orders
            # Workers stop first, each finishing (timing out) the request in hand.
        counts = _worker_queries(stats_dir)
        run_.tasks = sum(n for sql, n in counts.items() if _is_claim(sql))
        postbacks = _postbacks(fixture)
        run_.postbacks = len(postbacks)
        order_of = _order_of_webhooks(postbacks)
        receipts = [r for r in receiver.receipts if r.port in healthy]
        run_.received = len(receipts)
        run_.last_received = sum(r.port == receiver.ports[-1] for r in receiver.receipts)
        committed = burst.committed
        run_.latencies = [
            r.received_at - committed[order_of[r.webhook_id]]
            for r in receipts
            if order_of.get(r.webhook_id) in committed
        ]
        if receipts and committed:
            run_.delivery_seconds = max(r.received_at for r in receipts) - min(committed.values())


def _is_claim(sql: str) -> bool:
    """The claim that starts every delivery task, waits for a slot included."""
    return sql.startswith('UPDATE "delivery_postback" SET "claimed_until" = %s WHERE')


def format_fairness(environment: dict[str, str], runs: list[FairnessRun]) -> str:
    """The fairness runs side by side: the healthy receivers' latency, and its p99 against
    the baseline's (the target is within 2x)."""
    lines = ["Environment"]
    lines += [f"  {name:<22} {value}" for name, value in environment.items()]
    baseline = runs[0].percentile(0.99)
    for run_ in runs:
        p99 = run_.percentile(0.99)
        lines += ["", f"Run: {run_.name}" + ("  (TIMED OUT: partial figures)" * run_.timed_out)]
        rows = [
            ("destination limit", str(run_.destination_concurrency or "none")),
            (
                "healthy deliveries",
                f"{run_.received}/{run_.expected} in {run_.delivery_seconds:.2f} s",
            ),
            (
                "requests to the last",
                f"{run_.last_received}" + (" (it hangs: each one timed out)" * run_.hanging),
            ),
            ("delivery tasks run", f"{run_.tasks} for {run_.postbacks} postbacks"),
            ("healthy latency p50", f"{1000 * run_.percentile(0.50):.0f} ms"),
            ("healthy latency p95", f"{1000 * run_.percentile(0.95):.0f} ms"),
            ("healthy latency p99", f"{1000 * p99:.0f} ms"),
            ("healthy p99 ratio", f"{p99 / baseline:.2f} x the baseline's (target: <= 2)"),
        ]
        lines += [f"  {name:<22} {value}" for name, value in rows]
    return "\n".join(lines)


def format_report(report: Report, top_statements: int = 12) -> str:
    """The report as the command prints it: environment, figures, the SQL behind a delivery."""
    lines = ["Environment"]
    lines += [f"  {name:<22} {value}" for name, value in report.environment.items()]
    deliveries = report.received - report.duplicates
    per_delivery = deliveries or 1
    statements = Counter(report.worker_queries)
    connections = statements.pop(CONNECTIONS, 0)
    main_kib = max((main for main, _, _ in report.peak_rss_kib), default=0)
    total_kib = max((main + kids for main, kids, _ in report.peak_rss_kib), default=0)
    children = max((count for _, _, count in report.peak_rss_kib), default=0)
    ratio = report.delivery_rate / report.noop_rate if report.noop_rate else float("nan")
    rows = [
        (
            "no-op tasks",
            f"{report.noop_done}/{report.noop_published} in {report.noop_seconds:.2f}s",
        ),
        ("no-op tasks/s", f"{report.noop_rate:.1f}"),
        ("status changes fired", f"{report.status_changes} in {report.fire_seconds:.2f} s"),
        (
            "per status change",
            f"{report.driver_queries / (report.status_changes or 1):.1f} queries, "
            f"{1000 * report.fire_request_seconds / (report.status_changes or 1):.1f} ms "
            f"(in the burst, beside the workers)",
        ),
        *(
            (
                f"status change, M={count}",
                f"{queries:.1f} queries, {ms:.1f} ms (alone, no worker running)",
            )
            for count, (queries, ms) in sorted(report.cost.items())
        ),
        ("deliveries", f"{deliveries}/{report.expected} in {report.delivery_seconds:.2f} s"),
        ("duplicates received", str(report.duplicates)),
        ("delivered (database)", str(report.delivered_in_db)),
        ("deliveries/s", f"{report.delivery_rate:.1f}"),
        ("ratio to no-op", f"{ratio:.2f}"),
        ("latency p50", f"{1000 * report.percentile(0.50):.0f} ms"),
        ("latency p95", f"{1000 * report.percentile(0.95):.0f} ms"),
        ("latency p99", f"{1000 * report.percentile(0.99):.0f} ms"),
        ("latency max", f"{1000 * max(report.latencies, default=float('nan')):.0f} ms"),
        (
            "peak worker RSS",
            f"{total_kib / 1024:.0f} MiB (main {main_kib / 1024:.0f} MiB + "
            f"{children} child(ren); VmHWM summed, shared pages counted in each)",
        ),
        ("firing process RSS", f"{report.firing_peak_rss_kib / 1024:.0f} MiB (peak, VmHWM)"),
        ("queries per delivery", f"{statements.total() / per_delivery:.1f} (in the workers)"),
        ("connections/delivery", f"{connections / per_delivery:.2f} (database connections opened)"),
    ]
    lines += ["", "Results" + ("  (TIMED OUT: partial figures)" if report.timed_out else "")]
    lines += [f"  {name:<22} {value}" for name, value in rows]
    if statements:
        lines += ["", "Worker SQL per delivery (most frequent first)"]
        for sql, count in statements.most_common(top_statements):
            text = " ".join(sql.split())
            text = text if len(text) <= 110 else text[:107] + "..."
            lines.append(f"  {count / per_delivery:6.2f}  {text}")
    return "\n".join(lines)
