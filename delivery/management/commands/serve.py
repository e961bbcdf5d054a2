"""Runs the whole service in one terminal: web, a Celery worker with beat, a demo receiver.

For the embedded default (SQLite and kombu's filesystem broker). In production, run web,
worker and beat as separate processes (see the README).
"""

import json
import subprocess
import threading
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from customers.events import OrderStatus
from customers.services import change_order_status
from delivery.demo import DEMO_RECEIVER_PORT, ensure_demo_superuser, seed_demo
from delivery.receiver import ReceivedRequest, WebhookReceiver
from postbacks_site.worker_process import celery_worker_command


class Command(BaseCommand):
    help = "Run web, worker, beat and a demo webhook receiver together (development)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-demo", action="store_true", help="Skip the demo data.")

    def handle(self, *args, addrport: str, no_demo: bool, **options):
        call_command("migrate", interactive=False, verbosity=0)
        receiver = None
        if not no_demo:
            receiver = self._start_demo_receiver()
            order = seed_demo(f"http://127.0.0.1:{DEMO_RECEIVER_PORT}/webhooks/demo")
            if ensure_demo_superuser():
                self.stdout.write(self.style.WARNING("Created superuser admin / admin (dev only)."))
        worker = subprocess.Popen(
            celery_worker_command("--beat", "--pool=threads", "--concurrency=4")
        )
        try:
            if receiver is not None and order.status != OrderStatus.SHIPPED:
                threading.Timer(3.0, change_order_status, (order, OrderStatus.SHIPPED)).start()
                self.stdout.write(
                    f"In 3 s the demo order {order.reference_id} ships: watch the receiver below."
                )
            self.stdout.write(
                self.style.SUCCESS(f"Admin: http://{addrport}/admin/   API: http://{addrport}/api/")
            )
            call_command("runserver", addrport, use_reloader=False)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
            if receiver is not None:
                receiver.__exit__(None, None, None)

    def _start_demo_receiver(self) -> WebhookReceiver | None:
        def show(request: ReceivedRequest) -> None:
            try:
                body = json.dumps(json.loads(request.body), indent=2)
            except ValueError:
                body = request.text()
            self.stdout.write(
                self.style.SUCCESS(
                    f"\n[demo receiver {time.strftime('%H:%M:%S')}] {request.method} "
                    f"{request.path} webhook-id={request.headers.get('webhook-id')}\n{body}\n"
                )
            )

        try:
            return WebhookReceiver(port=DEMO_RECEIVER_PORT, on_request=show).__enter__()
        except OSError as error:
            self.stderr.write(f"Demo receiver not started on port {DEMO_RECEIVER_PORT}: {error}")
            return None
