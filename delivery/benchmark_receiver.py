"""A fast webhook receiver on 127.0.0.1 in a process of its own, for the benchmark.

``delivery.receiver.WebhookReceiver`` is a thread-per-connection ``http.server`` inside the
calling process: fine for tests, but under a benchmark it shares the GIL with the code firing
status changes, so its receipt times would include waiting for that code. This one runs in a
separate process on asyncio, parses no more of a request than it needs (Content-Length and
``webhook-id``), answers ``200 ok`` and reports ``<receipt time> <webhook-id> <port>`` lines on
stdout.

It can listen on several ports, so that each is a destination of its own to the per-destination
concurrency limit, and make the last few of them *hang*: read the request, report it, and never
answer, as a receiver that is down behind a load balancer does; the sender's timeout ends it.

It imports nothing from Django, so ``python -m delivery.benchmark_receiver`` starts in a blink.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection
from pathlib import Path
from typing import NamedTuple

_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
_FLUSH_EVERY = 0.02  # seconds; receipt times are taken on arrival, flushing only reports them


class Receipt(NamedTuple):
    webhook_id: str
    received_at: float  # time.time() on arrival
    port: int


async def _serve(ports: int, hanging: int) -> None:
    lines: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = writer.get_extra_info("sockname")[1]
        try:
            while True:  # keep-alive: one connection carries many requests
                head = await reader.readuntil(b"\r\n\r\n")
                length, webhook_id = 0, "-"
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"webhook-id":
                        webhook_id = value.strip().decode("ascii", "replace")
                if length:
                    await reader.readexactly(length)
                lines.append(f"{time.time():.6f} {webhook_id} {port}\n")
                if port in hanging_ports:
                    await reader.read()  # no answer: wait until the sender gives up
                    return
                writer.write(_RESPONSE)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    servers = [
        await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024) for _ in range(ports)
    ]
    numbers = [server.sockets[0].getsockname()[1] for server in servers]
    hanging_ports = set(numbers[len(numbers) - hanging :])
    sys.stdout.write(f"listening {' '.join(map(str, numbers))}\n")
    sys.stdout.flush()
    # The benchmark closes our stdin to say "stop"; until then, report what arrived.
    stdin_closed = asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    while not stdin_closed.done():
        await asyncio.sleep(_FLUSH_EVERY)
        if lines:
            sys.stdout.write("".join(lines))
            sys.stdout.flush()
            lines.clear()
    for server in servers:
        server.close()
    if lines:
        sys.stdout.write("".join(lines))
    sys.stdout.flush()


class ReceiverProcess:
    """Starts the receiver process and collects its receipts as they come.

    ``ports`` destinations, of which the last ``hanging`` never answer.
    """

    def __init__(self, ports: int = 1, hanging: int = 0) -> None:
        self.receipts: list[Receipt] = []
        self.ports: list[int] = []
        self._ports, self._hanging = ports, hanging
        self._per_port: Counter[int] = Counter()
        self._changed = threading.Condition()
        self._process: subprocess.Popen | None = None

    @property
    def port(self) -> int:
        return self.ports[0]

    def url(self, path: str = "/benchmark", port: int | None = None) -> str:
        return f"http://127.0.0.1:{port or self.port}{path}"

    def __enter__(self) -> ReceiverProcess:
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "delivery.benchmark_receiver",
                f"--ports={self._ports}",
                f"--hanging={self._hanging}",
            ],
            cwd=Path(__file__).resolve().parent.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        first = self._process.stdout.readline()
        if not first.startswith("listening "):
            self.__exit__()
            raise RuntimeError(f"the benchmark receiver did not start: {first!r}")
        self.ports = [int(port) for port in first.split()[1:]]
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            received_at, webhook_id, port = line.split()
            with self._changed:
                self.receipts.append(Receipt(webhook_id, float(received_at), int(port)))
                self._per_port[int(port)] += 1
                self._changed.notify_all()

    def wait_for(
        self,
        count: int,
        deadline: float,
        progress: Callable[[int], None],
        ports: Collection[int] | None = None,
    ) -> int:
        """Wait until ``count`` requests arrived (at ``ports``, by default at any) or
        ``deadline`` (time.monotonic) passed; returns how many arrived. ``progress`` is told
        the count about once a second."""

        def arrived() -> int:
            if ports is None:
                return len(self.receipts)
            return sum(self._per_port[port] for port in ports)

        next_report = time.monotonic() + 1
        with self._changed:
            while arrived() < count and time.monotonic() < deadline:
                self._changed.wait(min(0.2, max(0.0, deadline - time.monotonic())))
                if time.monotonic() >= next_report:
                    progress(arrived())
                    next_report += 1
            return arrived()

    def __exit__(self, *exc_info: object) -> None:
        """Stop the process and keep every receipt it reported, up to the last one."""
        if self._process is None:
            return
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        if hasattr(self, "_reader"):
            self._reader.join(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ports", type=int, default=1)
    parser.add_argument("--hanging", type=int, default=0)
    arguments = parser.parse_args()
    asyncio.run(_serve(arguments.ports, arguments.hanging))
