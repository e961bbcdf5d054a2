"""How secrets are shown once stored: masked, the same way on every page and in the log.

Staff recognise a key by its last characters without the page (or a screenshot of it)
giving the key away. Short values are hidden whole: their last four would be most of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Trigger

HIDDEN = "****"
SIGNING_PREFIX = "whsec_"


def mask_value(value: str) -> str:
    """``****`` and the last four characters of a value of 16 or more, else ``****``."""
    return HIDDEN + value[-4:] if len(value) >= 16 else HIDDEN


def mask_signing_secret(secret: str) -> str:
    """``whsec_…abcd``: enough to tell which secret a receiver holds."""
    if not secret:
        return ""
    return f"{SIGNING_PREFIX}…{secret[-4:]}"


def masked_header_pairs(trigger: Trigger) -> list[tuple[str, str]]:
    """The trigger's custom headers: names as they are, values masked."""
    return [(name, mask_value(value)) for name, value in trigger.header_pairs()]
