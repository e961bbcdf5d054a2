"""``manage.py benchmark``: deliveries per second and latency against Celery's own ceiling.

The work is in ``delivery.benchmark``; this command only reads options and prints.
"""

import sys
from dataclasses import fields

from django.core.management.base import BaseCommand, CommandParser

from delivery.benchmark import (
    FairnessOptions,
    Options,
    format_fairness,
    format_report,
    run,
    run_fairness,
)


class Command(BaseCommand):
    help = (
        "Fire N order status changes fanning out to M triggers each, through real Celery "
        "workers, to a receiver on 127.0.0.1; print deliveries/s, latency from commit to "
        "receipt, peak worker memory, queries per delivery and the no-op task rate of the "
        "same workers; or, with --scenario fairness, the healthy receivers' latency when one "
        "of them hangs. Uses the configured database and broker; deletes its data afterwards."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        # Unset options take the scenario's defaults (Options, FairnessOptions).
        parser.add_argument(
            "--scenario",
            choices=["throughput", "fairness"],
            default="throughput",
            help="throughput: N x M deliveries against the no-op rate; fairness: the same "
            "burst to R receivers all healthy, with one hanging, and without the limit",
        )
        parser.add_argument("--orders", type=int, help="N")
        parser.add_argument("--triggers", type=int, help="M (throughput)")
        parser.add_argument("--receivers", type=int, help="R (fairness)")
        parser.add_argument("--workers", type=int)
        parser.add_argument("--concurrency", type=int)
        parser.add_argument("--pool", choices=["prefork", "threads", "solo"])
        parser.add_argument("--clients", type=int, help="threads firing status changes at once")
        parser.add_argument(
            "--noop-tasks", type=int, help="no-op tasks to time (throughput; default: N x M)"
        )
        parser.add_argument(
            "--http-timeout",
            type=float,
            help="the workers' POSTBACKS_HTTP_TIMEOUT, how long the hanging receiver holds "
            "each request (fairness)",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            help="seconds after which a run stops, finished or not (fairness: each of three)",
        )

    def handle(self, *args, **options) -> None:
        fairness = options["scenario"] == "fairness"
        names = [field.name for field in fields(FairnessOptions if fairness else Options)]
        given = {name: options[name] for name in names if options.get(name) is not None}
        counts = ("orders", "triggers", "receivers", "workers", "concurrency", "clients")
        for name in counts:
            if name in given and given[name] < 1:
                self.stderr.write(f"--{name} must be at least 1")
                sys.exit(2)
        if fairness:
            if given.get("receivers", 2) < 2:
                self.stderr.write("--receivers must be at least 2: one hangs, others measure")
                sys.exit(2)
            self.stdout.write(
                format_fairness(*run_fairness(FairnessOptions(**given), self._progress))
            )
        else:
            self.stdout.write(format_report(run(Options(**given), self._progress)))

    def _progress(self, message: str) -> None:
        self.stderr.write(f"benchmark: {message}")
