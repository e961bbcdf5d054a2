"""``manage.py benchmark``: deliveries per second and latency against Celery's own ceiling.

The work is in ``delivery.benchmark``; this command only reads options and prints.
"""

import sys

from django.core.management.base import BaseCommand, CommandParser

from delivery.benchmark import Options, format_report, run


class Command(BaseCommand):
    help = (
        "Fire N order status changes fanning out to M triggers each, through real Celery "
        "workers, to a receiver on 127.0.0.1; print deliveries/s, latency from commit to "
        "receipt, peak worker memory, queries per delivery and the no-op task rate of the "
        "same workers. Uses the configured database and broker; deletes its data afterwards."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = Options()
        parser.add_argument("--orders", type=int, default=defaults.orders, help="N")
        parser.add_argument("--triggers", type=int, default=defaults.triggers, help="M")
        parser.add_argument("--workers", type=int, default=defaults.workers)
        parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
        parser.add_argument("--pool", choices=["prefork", "threads", "solo"], default="prefork")
        parser.add_argument(
            "--clients",
            type=int,
            default=defaults.clients,
            help="threads firing status changes at once",
        )
        parser.add_argument("--noop-tasks", type=int, help="no-op tasks to time (default: N x M)")
        parser.add_argument(
            "--timeout",
            type=float,
            default=defaults.timeout,
            help="seconds after which both phases stop, finished or not",
        )

    def handle(self, *args, **options) -> None:
        for name in ("orders", "triggers", "workers", "concurrency", "clients"):
            if options[name] < 1:
                self.stderr.write(f"--{name} must be at least 1")
                sys.exit(2)
        report = run(
            Options(
                orders=options["orders"],
                triggers=options["triggers"],
                workers=options["workers"],
                concurrency=options["concurrency"],
                pool=options["pool"],
                clients=options["clients"],
                noop_tasks=options["noop_tasks"],
                timeout=options["timeout"],
            ),
            progress=lambda message: self.stderr.write(f"benchmark: {message}"),
        )
        self.stdout.write(format_report(report))
