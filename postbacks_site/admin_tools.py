"""Admin pieces every app uses: write-only secrets, activation with refusals explained.

Secrets in admin are written, never read back. Editors get write-only inputs (see the
forms); a read-only staff user, for whom Django shows every field's stored value as text,
sees masked stand-ins instead of the decrypted secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest


class WriteOnlySecretsMixin:
    """For users who may only view: each field in ``secret_fields`` is replaced by the admin
    method it names, which shows the value masked (None drops the field)."""

    secret_fields: dict[str, str | None] = {}

    def get_fieldsets(self, request: HttpRequest, obj=None):  # type: ignore[no-untyped-def]
        return self.mask_secrets(request, obj, super().get_fieldsets(request, obj))  # type: ignore[misc]

    def mask_secrets(self, request: HttpRequest, obj, fieldsets: list) -> list:  # type: ignore[no-untyped-def]
        if self.has_change_permission(request, obj):  # type: ignore[attr-defined]
            return fieldsets
        return [
            (name, {**options, "fields": self._masked_rows(options["fields"])})
            for name, options in fieldsets
        ]

    def _masked_rows(self, rows: list) -> list:
        masked = []
        for row in rows:
            if isinstance(row, list | tuple):
                names = [self.secret_fields.get(name, name) for name in row]
                row = tuple(name for name in names if name)
                if row:
                    masked.append(row)
            elif self.secret_fields.get(row, row):
                masked.append(self.secret_fields.get(row, row))
        return masked


def stored_secret(value: str) -> str:
    """How a stored password or token is shown: that there is one, never any of it."""
    return "**** (set)" if value else "(none)"


def set_active_each(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable[Model],
    active: bool,
    set_active: Callable[[Model, bool], None],
) -> None:
    """Activate or deactivate each object through its app's ``set_active`` service, and tell
    staff which were refused and why (the service's ValidationError, in words)."""
    done = 0
    for obj in objects:
        try:
            set_active(obj, active)
        except ValidationError as refusal:
            reasons = " ".join(refusal.messages)
            model_admin.message_user(
                request, f"“{obj}” was not activated: {reasons}", messages.ERROR
            )
        else:
            done += 1
    if done:
        noun = model_admin.opts.verbose_name if done == 1 else model_admin.opts.verbose_name_plural
        verb = "activated" if active else "deactivated"
        model_admin.message_user(request, f"{done} {noun} {verb}.", messages.SUCCESS)
