"""An email trigger's recipients: fixed addresses, or computed from the event's data.

The recipients field is a comma-separated list in which any part may be a template expression,
e.g. ``ops@psp.example, {{ shippingAddress.email }}``. Fixed addresses are checked when the
trigger is saved; computed ones when each postback is sent, since only then is the data known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from templates_app.rendering import render_text, syntax_errors

_TEMPLATE_MARKS = ("{{", "{%", "}}", "%}")


@dataclass(frozen=True)
class Recipients:
    addresses: list[str]
    # Why these recipients cannot be used, in words for the delivery log; empty when fine.
    problem: str = ""


def split_addresses(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _is_template(text: str) -> bool:
    return any(mark in text for mark in _TEMPLATE_MARKS)


def _invalid(addresses: list[str]) -> list[str]:
    invalid = []
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            invalid.append(address)
    return invalid


def field_errors(text: str) -> list[str]:
    """What is wrong with the recipients field as typed: no recipient, bad syntax or address."""
    parts = split_addresses(text)
    if not parts:
        return ["An email trigger needs at least one recipient."]
    if _is_template(text):
        errors = syntax_errors(text)
        if errors:
            return errors
    fixed = [part for part in parts if not _is_template(part)]
    return [f'"{address}" is not a valid email address.' for address in _invalid(fixed)]


def render_recipients(
    text: str, data: Mapping[str, Any], *, customer_id: int | None = None
) -> Recipients:
    """The addresses one postback goes to, with the problem if they cannot be used."""
    if _is_template(text):
        result = render_text(text, data, customer_id=customer_id)
        if not result.ok:
            reasons = "; ".join(problem.message for problem in result.errors)
            return Recipients([], f"The recipients could not be computed from the event: {reasons}")
        addresses = split_addresses(result.message.body)
    else:
        addresses = split_addresses(text)
    if not addresses:
        return Recipients([], "The recipients template gave no address for this event.")
    invalid = _invalid(addresses)
    if invalid:
        quoted = ", ".join(f'"{address}"' for address in invalid)
        return Recipients(addresses, f"Not a valid email address, so nothing was sent: {quoted}.")
    return Recipients(addresses)
