"""How postbacks travel: HTTP for webhooks, SMTP for email.

Transports know nothing of templates, triggers or the delivery log. They take a ready request,
send it once, and report what happened in a ``TransportResult``, including whether a failure
is temporary by the rules of their protocol (HTTP 5xx, SMTP 4xx) and so worth retrying.
"""

from __future__ import annotations

import smtplib
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend

from .network import DestinationRefused, GuardedAdapter
from .smtp import last_reply
from .smtp_failures import describe_failure

# HTTP statuses worth retrying besides 5xx: the receiver says "not now", not "never".
RETRYABLE_HTTP_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    method: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class EmailRequest:
    from_email: str
    to: list[str]
    subject: str
    body: str
    html_body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # Why this email cannot be sent (e.g. its recipients are not valid addresses): the
    # attempt fails for good without talking to the server.
    problem: str = ""


@dataclass
class TransportResult:
    delivered: bool
    temporary: bool = False
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    truncated: bool = False
    error: str = ""
    duration_ms: int = 0
    remote_address: str = ""
    timed_out: bool = False
    # Seconds the receiver asked us to wait (HTTP Retry-After), if it said.
    retry_after: float | None = None


_sessions = threading.local()


def _session() -> requests.Session:
    """One pooled keep-alive session per worker thread."""
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
        session.trust_env = False  # no proxies or netrc from the worker's environment
        adapter = GuardedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


class _TotalTimeout(Exception):
    pass


def _read_limited(response: requests.Response, limit: int, deadline: float) -> tuple[str, bool]:
    """Read at most ``limit`` bytes of the body, and no longer than until ``deadline``."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=8192):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
        if time.monotonic() > deadline:
            raise _TotalTimeout
    raw = b"".join(chunks)
    text = raw[:limit].decode(response.encoding or "utf-8", errors="replace")
    return text, size > limit


def _connected_address(response: requests.Response) -> str:
    connection = getattr(response.raw, "connection", None)
    return getattr(connection, "connected_address", "")


def _retry_after(value: str | None) -> float | None:
    """Seconds from an HTTP Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def send_webhook(request: WebhookRequest) -> TransportResult:
    """Send ``request`` once. Redirects are not followed: a receiver must answer itself.

    ``POSTBACKS_HTTP_TIMEOUT`` bounds the whole exchange: waiting for the answer and reading
    its body.
    """
    started = time.monotonic()
    total = settings.POSTBACKS_HTTP_TIMEOUT
    try:
        with _session().request(
            request.method,
            request.url,
            headers=request.headers,
            data=request.body,
            timeout=(settings.POSTBACKS_HTTP_CONNECT_TIMEOUT, total),
            allow_redirects=False,
            stream=True,
        ) as response:
            remote_address = _connected_address(response)
            body, truncated = _read_limited(
                response, settings.POSTBACKS_RESPONSE_BODY_LIMIT, started + total
            )
            status = response.status_code
            delivered = 200 <= status < 300
            return TransportResult(
                delivered=delivered,
                temporary=status >= 500 or status in RETRYABLE_HTTP_STATUSES,
                status=status,
                headers=dict(response.headers),
                body=body,
                truncated=truncated,
                error="" if delivered else _http_status_error(status),
                duration_ms=_elapsed_ms(started),
                remote_address=remote_address,
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
    except DestinationRefused as refusal:
        return TransportResult(
            delivered=False,
            error=f"Refused address: {refusal}",
            duration_ms=_elapsed_ms(started),
        )
    except _TotalTimeout:
        return TransportResult(
            delivered=False,
            temporary=True,
            timed_out=True,
            error=f"The receiver did not finish answering within {total:g} s.",
            duration_ms=_elapsed_ms(started),
        )
    except requests.RequestException as error:
        return TransportResult(
            delivered=False,
            temporary=True,
            timed_out=_timed_out(error),
            error=_network_error(error),
            duration_ms=_elapsed_ms(started),
        )


def _timed_out(error: requests.RequestException) -> bool:
    # A read timeout while streaming the body arrives as a ConnectionError wrapping urllib3's.
    return isinstance(error, requests.Timeout) or "Read timed out" in str(error)


def _http_status_error(status: int) -> str:
    if 300 <= status < 400:
        return f"The receiver answered {status} (a redirect); redirects are not followed."
    return f"The receiver answered HTTP {status}."


def _network_error(error: requests.RequestException) -> str:
    """Words a PSP's staff understand for what went wrong on the network."""
    text = str(error)
    if isinstance(error, requests.ConnectTimeout):
        return "Timed out connecting to the receiver."
    if _timed_out(error):
        timeout = settings.POSTBACKS_HTTP_TIMEOUT
        return f"The receiver did not answer within {timeout:g} s (timeout)."
    if isinstance(error, requests.exceptions.SSLError):
        return f"TLS error talking to the receiver: {text}"
    if isinstance(error, requests.ConnectionError):
        if "Name or service not known" in text or "getaddrinfo" in text or "NameResolution" in text:
            return "The receiver's host name could not be found (DNS)."
        if "Connection refused" in text:
            return "The receiver refused the connection (nothing listening at that address)."
        return f"Could not connect to the receiver: {text}"
    return f"Request failed: {text}"


def email_message(request: EmailRequest, connection: BaseEmailBackend) -> EmailMultiAlternatives:
    """The email ``request`` describes: plain text, with the HTML part as its alternative."""
    message = EmailMultiAlternatives(
        subject=request.subject,
        body=request.body,
        from_email=request.from_email,
        to=request.to,
        headers=request.headers,
        connection=connection,
    )
    if request.html_body:
        message.attach_alternative(request.html_body, "text/html")
    return message


def send_email(request: EmailRequest, connection: BaseEmailBackend) -> TransportResult:
    """Send one email through ``connection``; SMTP 4xx replies are temporary, 5xx are not.

    The result carries the server's reply (code and text), never what was sent to log in.
    """
    started = time.monotonic()
    if request.problem:
        return TransportResult(delivered=False, error=request.problem)
    try:
        email_message(request, connection).send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as error:
        failure = describe_failure(error)
        return TransportResult(
            delivered=False,
            temporary=failure.temporary,
            status=failure.smtp_code,
            body=failure.reply,
            error=failure.message,
            duration_ms=_elapsed_ms(started),
        )
    code, reply = last_reply(connection)
    return TransportResult(
        delivered=True, status=code, body=reply, duration_ms=_elapsed_ms(started)
    )
