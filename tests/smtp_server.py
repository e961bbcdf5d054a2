"""A real SMTP server on 127.0.0.1 (aiosmtpd) that records what it receives.

It can require STARTTLS or speak implicit TLS with a certificate from a test CA, require a
user name and password, refuse chosen senders and recipients, and counts the SMTP sessions
opened to it, so tests can see a connection being reused.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def free_port() -> int:
    """A port nothing listens on right now (for a server that is down, then up)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    authenticated_as: str | None


@dataclass
class Behaviour:
    credentials: tuple[str, str] | None = None
    refuse_senders: dict[str, str] = field(default_factory=dict)
    refuse_recipients: dict[str, str] = field(default_factory=dict)


class _Handler:
    def __init__(self, behaviour: Behaviour, received: list[Received]) -> None:
        self.behaviour = behaviour
        self.received = received

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address in self.behaviour.refuse_senders:
            return self.behaviour.refuse_senders[address]
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.behaviour.refuse_recipients:
            return self.behaviour.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        login = session.auth_data.login.decode() if session.authenticated else None
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, login))
        return f"250 2.0.0 Ok: queued as Q{len(self.received)}"


class _CountingController(Controller):
    """Counts sessions (one SMTP instance per connection) and learns its port when given 0."""

    def __init__(self, *args, sessions: SessionCount, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sessions = sessions

    def factory(self) -> SMTP:
        self.sessions.opened()
        return _CountedSMTP(self.handler, sessions=self.sessions, **self.SMTP_kwargs)

    async def _listen(self):
        server = await super()._create_server()
        self.port = server.sockets[0].getsockname()[1]
        return server

    def _create_server(self):
        return self._listen()


class _CountedSMTP(SMTP):
    def __init__(self, *args, sessions: SessionCount, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sessions = sessions

    def connection_lost(self, error) -> None:
        self._sessions.closed()
        super().connection_lost(error)


class SessionCount:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.open = 0

    def opened(self) -> None:
        with self._lock:
            self.total += 1
            self.open += 1

    def closed(self) -> None:
        with self._lock:
            self.open -= 1

    def reset(self) -> None:
        with self._lock:
            self.total = self.open = 0


class SmtpServer:
    """``with SmtpServer(...) as server:`` serves on 127.0.0.1 until the block ends.

    ``starttls_context`` (a server-side SSLContext) makes it require STARTTLS;
    ``implicit_tls_context`` makes it speak TLS from the first byte (port 465 style).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        starttls_context: ssl.SSLContext | None = None,
        implicit_tls_context: ssl.SSLContext | None = None,
        behaviour: Behaviour | None = None,
    ) -> None:
        self.behaviour = behaviour or Behaviour()
        self.received: list[Received] = []
        self.sessions = SessionCount()
        options = {"server_hostname": "mail.psp.example", "enable_SMTPUTF8": False}
        if starttls_context is not None:
            options.update(tls_context=starttls_context, require_starttls=True)
        if self.behaviour.credentials is not None:
            options.update(
                authenticator=self._authenticate,
                auth_required=True,
                # Plain AUTH is only offered on loopback tests that do not use TLS.
                auth_require_tls=starttls_context is not None or implicit_tls_context is not None,
            )
        self._controller = _CountingController(
            _Handler(self.behaviour, self.received),
            hostname="127.0.0.1",
            port=port,
            ssl_context=implicit_tls_context,
            sessions=self.sessions,
            **options,
        )

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        given = (
            (auth_data.login.decode(), auth_data.password.decode())
            if isinstance(auth_data, LoginPassword)
            else None
        )
        success = given == self.behaviour.credentials
        return AuthResult(success=success, handled=False, auth_data=auth_data)

    @property
    def port(self) -> int:
        return self._controller.port

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        # The controller's own readiness probe is not a client: wait for it to go, forget it.
        _wait(lambda: self.sessions.open == 0, "the readiness probe to disconnect")
        self.sessions.reset()
        return self

    def __exit__(self, *exc_info) -> None:
        self._controller.stop()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        _wait(lambda: len(self.received) >= count, f"{count} emails", timeout)
        return self.received[:count]


def _wait(condition, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.02)


class SilentServer:
    """Accepts connections and never says a word: a mail server too slow to answer."""

    def __enter__(self) -> SilentServer:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)
        self.port = self._socket.getsockname()[1]
        return self

    def __exit__(self, *exc_info) -> None:
        self._socket.close()
