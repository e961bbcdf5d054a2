"""A receiver for Postbacks webhooks, with the Python standard library only.

Run it:   POSTBACKS_SECRET=whsec_... python webhook_receiver.py
It verifies every request's Standard Webhooks signature on the raw body bytes, ignores
repeats of a webhook-id it has already seen, and answers 204 at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 5 * 60  # refuse replays of old requests


class InvalidSignature(Exception):
    pass


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
    """Raise InvalidSignature unless ``body`` was signed by Postbacks with ``secret``."""
    headers = {name.lower(): value for name, value in headers.items()}
    try:
        message_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
        signatures = headers["webhook-signature"].split(" ")
    except (KeyError, ValueError) as error:
        raise InvalidSignature(f"missing or malformed header: {error}") from error
    if abs((now or time.time()) - timestamp) > TOLERANCE_SECONDS:
        raise InvalidSignature("timestamp too old or too new")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for signature in signatures:  # during a secret rotation there are two
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return
    raise InvalidSignature("no signature matches")


def make_server(
    secret: str, on_event: Callable[[str, dict], None], host: str = "127.0.0.1", port: int = 8002
) -> ThreadingHTTPServer:
    """An HTTP server that calls ``on_event(webhook_id, data)`` once per verified postback."""
    seen: set[str] = set()  # use your database in real life

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                verify(secret, self.headers, body)
            except InvalidSignature:
                self.send_response(401)
                self.end_headers()
                return
            webhook_id = self.headers["webhook-id"]
            if webhook_id not in seen:  # at-least-once delivery: skip repeats
                seen.add(webhook_id)
                on_event(webhook_id, json.loads(body))
            self.send_response(204)
            self.end_headers()

        do_PUT = do_PATCH = do_POST

    return ThreadingHTTPServer((host, port), Handler)


if __name__ == "__main__":
    server = make_server(
        os.environ["POSTBACKS_SECRET"], lambda webhook_id, data: print(webhook_id, data)
    )
    print(f"Listening on http://127.0.0.1:{server.server_address[1]}/")
    server.serve_forever()
