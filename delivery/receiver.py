"""A small, real webhook receiver on loopback, for the demo, the tests and the benchmark.

It records every request it gets and answers with the statuses it is told to, in order, so
a test can say "fail twice, then succeed" and then look at what arrived.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.time)

    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow or hanging receiver)


class WebhookReceiver:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        on_request: Callable[[ReceivedRequest], None] | None = None,
    ) -> None:
        self.received: list[ReceivedRequest] = []
        self._replies: list[Reply] = []
        self._default = Reply()
        self._on_request = on_request
        self._lock = threading.Condition()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/webhooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply_with(self, *replies: Reply | int, then: Reply | int = 200) -> None:
        """Answer the next requests with ``replies`` in order, and every later one with ``then``."""
        with self._lock:
            self._replies = [_reply(item) for item in replies]
            self._default = _reply(then)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[ReceivedRequest]:
        """Block until ``count`` requests have arrived; raise ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"expected {count} request(s), received {len(self.received)}"
                    )
                self._lock.wait(remaining)
            return list(self.received)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_reply(self, request: ReceivedRequest) -> Reply:
        with self._lock:
            self.received.append(request)
            reply = self._replies.pop(0) if self._replies else self._default
            self._lock.notify_all()
        return reply

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = ReceivedRequest(
                    method=self.command,
                    path=self.path,
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=self.rfile.read(length),
                )
                if receiver._on_request:
                    receiver._on_request(request)
                reply = receiver._next_reply(request)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (a timeout test)

            do_POST = do_PUT = do_PATCH = do_GET = _handle

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def _reply(item: Reply | int) -> Reply:
    return item if isinstance(item, Reply) else Reply(status=item)
