"""The REST API's one error format, and its place in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error as ``{"errors": {name: [message, ...]}}``.

    ``name`` is a field of the request body or query, ``non_field_errors`` for a problem of
    the request as a whole, and ``detail`` for authentication, permission, not-found, method
    and throttling errors. The services' Django ``ValidationError`` (what admin shows on its
    forms) becomes a 400 the same way; deleting a row others still use becomes a 409.
    """
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(serializers.as_serializer_error(exc))
    elif isinstance(exc, ProtectedError | RestrictedError):
        users = sorted({str(type(obj)._meta.verbose_name_plural) for obj in exc.args[1]})
        exc = Conflict(f"Cannot delete it: {', '.join(users)} still refer to it.")
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = {"errors": _errors(response.data)}
    return response


def _errors(data: Any) -> dict[str, Any]:
    if isinstance(data, list):
        return {api_settings.NON_FIELD_ERRORS_KEY: data}
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name): (
            messages if isinstance(messages, list | dict) else [messages]
        )
        for name, messages in data.items()
    }


ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "object",
            "description": (
                "Messages by field name; `non_field_errors` for the request as a whole, "
                "`detail` for authentication, permission, not found and throttling."
            ),
            "additionalProperties": {},
        }
    },
    "required": ["errors"],
}


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook: document the error answers every operation can
    give, in the one error format, so clients generated from the schema know them."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            answers = {
                "401": "Not authenticated: send `Authorization: Token <key>` or log in.",
                "403": "Authenticated, but without the model permission this needs.",
                "429": "Too many requests for this token; `Retry-After` says when to retry.",
            }
            if method in ("post", "put", "patch") or operation.get("parameters"):
                answers["400"] = "Invalid input: messages by field."
            if "{" in path:
                answers["404"] = "No such object."
            if method == "delete":
                answers["409"] = "Still in use by other objects, so it cannot be deleted."
            responses = operation.setdefault("responses", {})
            for code, description in answers.items():
                responses.setdefault(code, {"description": description, **error})
    return result
