"""Connections to a mail server: a private CA, the server's reply, and reuse between emails.

Django's SMTP backend speaks the protocol; this module adds what email postbacks need:

- ``POSTBACKS_SMTP_CA_FILE``: CA certificates trusted besides the system's, for PSPs whose mail
  server has a certificate from their own CA (Django builds its TLS context with the system's
  CAs only);
- the server's reply to each message (``250 2.0.0 Ok: queued as …``), kept in the delivery
  log so a bounce can be matched to the attempt that caused it;
- one open connection per worker thread, reused for the next email to the same server: a
  worker often sends several emails in a row, and each new session costs a TCP, TLS and AUTH
  exchange. It is checked (NOOP) before reuse, re-opened when it failed, and closed once idle
  for ``POSTBACKS_SMTP_IDLE_TIMEOUT`` seconds.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend
from django.utils.functional import cached_property


class _ReplyRecording:
    """An SMTP client that remembers the server's reply to the end of the last message."""

    last_reply: tuple[int, bytes] | None = None

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.last_reply = reply = super().data(msg)  # type: ignore[misc]
        return reply


class _SMTP(_ReplyRecording, smtplib.SMTP):
    pass


class _SMTPOverTLS(_ReplyRecording, smtplib.SMTP_SSL):
    pass


class SMTPBackend(EmailBackend):
    """Django's SMTP backend, also trusting ``POSTBACKS_SMTP_CA_FILE`` and keeping the reply.

    Usable as ``EMAIL_BACKEND`` (``delivery.smtp.SMTPBackend``) for the server configured in
    the environment, and behind the workspace's own server.
    """

    last_reply: tuple[int, str] | None = None

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return _SMTPOverTLS if self.use_ssl else _SMTP

    @cached_property
    def ssl_context(self) -> ssl.SSLContext:
        context = super().ssl_context  # Django's, with the system's CAs
        if settings.POSTBACKS_SMTP_CA_FILE:
            context.load_verify_locations(cafile=settings.POSTBACKS_SMTP_CA_FILE)
        return context

    def _send(self, email_message: EmailMessage) -> bool:
        self.last_reply = None
        sent = super()._send(email_message)
        reply = getattr(self.connection, "last_reply", None)
        if sent and reply is not None:
            self.last_reply = (reply[0], reply[1].decode(errors="replace"))
        return sent


class ReusableSMTPBackend(SMTPBackend):
    """An SMTP backend that keeps its connection open for the next email.

    Django's backend closes a connection it opened for a send; this one opens it first so it
    stays open, checks it with NOOP before reusing it, drops it after any failure (the next
    send opens a new one), and closes it once idle for ``POSTBACKS_SMTP_IDLE_TIMEOUT``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sends = 0
        self._idle_timer: threading.Timer | None = None

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        with self._lock:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            if self.connection is not None and not self._answers():
                self._discard()
            try:
                self.open()
                return super().send_messages(email_messages)
            except BaseException:
                self._discard()
                raise
            finally:
                self._close_when_idle()

    def _answers(self) -> bool:
        try:
            return self.connection.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            return False

    def _discard(self) -> None:
        """Close the connection, whatever state it is in; a failing QUIT changes nothing."""
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self.close()

    def _close_when_idle(self) -> None:
        if self.connection is None:
            return
        self._sends += 1
        self._idle_timer = threading.Timer(
            settings.POSTBACKS_SMTP_IDLE_TIMEOUT, self._close_if_unused, args=(self._sends,)
        )
        self._idle_timer.daemon = True
        self._idle_timer.start()

    def _close_if_unused(self, sends: int) -> None:
        with self._lock:
            if sends == self._sends:
                self._discard()

    def shut(self) -> None:
        """Close the connection now, e.g. because the server settings changed."""
        with self._lock:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            self._discard()


_pool = threading.local()


def reusable_backend(**params: Any) -> ReusableSMTPBackend:
    """This thread's connection to the server ``params`` describe, opened at the first send.

    One per thread at most: a workspace has one server, and new settings (another host, user
    or password) replace the connection made with the old ones.
    """
    key = (tuple(sorted(params.items())), settings.POSTBACKS_SMTP_CA_FILE)
    cached = getattr(_pool, "entry", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    if cached is not None:
        cached[1].shut()
    backend = ReusableSMTPBackend(**params)
    _pool.entry = (key, backend)
    return backend


def last_reply(connection: BaseEmailBackend) -> tuple[int | None, str]:
    """The server's reply to the last message sent, when the backend speaks SMTP."""
    return getattr(connection, "last_reply", None) or (None, "")
