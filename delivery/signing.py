"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Each request carries ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``,
computed with the trigger's secret (``whsec_`` + base64 key). During the overlap after a
rotation the header holds one signature per secret, separated by spaces, so a receiver that
still has the old secret keeps verifying.
"""

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(signing_secrets: list[str], message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    signatures = []
    for secret in signing_secrets:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
        digest = hmac.new(key, signed, hashlib.sha256).digest()
        signatures.append("v1," + base64.b64encode(digest).decode())
    return " ".join(signatures)
