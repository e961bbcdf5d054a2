"""A fast webhook receiver on 127.0.0.1 in a process of its own, for the benchmark.

``delivery.receiver.WebhookReceiver`` is a thread-per-connection ``http.server`` inside the
calling process: fine for tests, but under a benchmark it shares the GIL with the code firing
status changes, so its receipt times would include waiting for that code. This one runs in a
separate process on asyncio, parses no more of a request than it needs (Content-Length and
``webhook-id``), answers ``200 ok`` and reports ``<receipt time> <webhook-id>`` lines on stdout.

It imports nothing from Django, so ``python -m delivery.benchmark_receiver`` starts in a blink.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
_FLUSH_EVERY = 0.02  # seconds; receipt times are taken on arrival, flushing only reports them


async def _serve() -> None:
    lines: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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
                lines.append(f"{time.time():.6f} {webhook_id}\n")
                writer.write(_RESPONSE)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"listening {port}\n")
    sys.stdout.flush()
    # The benchmark closes our stdin to say "stop"; until then, report what arrived.
    stdin_closed = asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    while not stdin_closed.done():
        await asyncio.sleep(_FLUSH_EVERY)
        if lines:
            sys.stdout.write("".join(lines))
            sys.stdout.flush()
            lines.clear()
    server.close()
    if lines:
        sys.stdout.write("".join(lines))
    sys.stdout.flush()


class ReceiverProcess:
    """Starts the receiver process and collects ``(webhook-id, receipt time)`` as they come."""

    def __init__(self) -> None:
        self.receipts: list[tuple[str, float]] = []
        self._changed = threading.Condition()
        self._process: subprocess.Popen | None = None
        self.port = 0

    def url(self, path: str = "/benchmark") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> ReceiverProcess:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "delivery.benchmark_receiver"],
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
        self.port = int(first.split()[1])
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            received_at, webhook_id = line.split()
            with self._changed:
                self.receipts.append((webhook_id, float(received_at)))
                self._changed.notify_all()

    def wait_for(self, count: int, deadline: float, progress: Callable[[int], None]) -> int:
        """Wait until ``count`` requests arrived or ``deadline`` (time.monotonic) passed;
        returns how many arrived. ``progress`` is told the count about once a second."""
        next_report = time.monotonic() + 1
        with self._changed:
            while len(self.receipts) < count and time.monotonic() < deadline:
                self._changed.wait(min(0.2, max(0.0, deadline - time.monotonic())))
                if time.monotonic() >= next_report:
                    progress(len(self.receipts))
                    next_report += 1
            return len(self.receipts)

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
    asyncio.run(_serve())
