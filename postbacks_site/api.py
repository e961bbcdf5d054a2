"""What every endpoint of the REST API shares: permissions, throttles, model validation.

Each app keeps its own ``api.py`` (views) and ``serializers.py``; the rules here and in
``api_errors`` are the ones an integrator can rely on whichever endpoint they call. (The
settings name these classes, and DRF imports them while ``rest_framework.views`` loads, so
this module must not import DRF's views; the error handler lives apart for that reason.)
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

# --- Permissions ----------------------------------------------------------------------------


class ModelPermissions(DjangoModelPermissions):
    """Django's model permissions, reading included: GET needs ``view_<model>``.

    DRF's class lets any authenticated user read; a role with no permission on a model must
    not see its rows (a trigger's URL, a customer's orders) either.
    """

    _view = ["%(app_label)s.view_%(model_name)s"]
    perms_map = {**DjangoModelPermissions.perms_map, "GET": _view, "HEAD": _view, "OPTIONS": _view}


class ChangePermission(ModelPermissions):
    """For actions that act on an existing object without creating or deleting one (render,
    send a test, rotate a secret, resend): ``change_<model>``, as the same buttons in admin."""

    def get_required_permissions(self, method: str, model_cls: type) -> list[str]:
        return super().get_required_permissions("PATCH", model_cls)


# --- Throttling -----------------------------------------------------------------------------


class TokenRateThrottle(SimpleRateThrottle):
    """Requests per API token (per user for a staff session), at the ``token`` rate.

    The rate is read on every request, so a changed setting applies without a restart of the
    class. The token itself never reaches the cache: only a digest of it.
    """

    scope = "token"

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request: Request, view: Any) -> str:
        if isinstance(request.auth, Token):
            ident = "token:" + hashlib.sha256(request.auth.key.encode()).hexdigest()[:32]
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class SendRateThrottle(TokenRateThrottle):
    """Actions that send a webhook or an email out now, at the tighter ``sends`` rate: a
    script in a loop must not turn Postbacks into a mail or request cannon."""

    scope = "sends"


# --- Serializers ----------------------------------------------------------------------------


class ModelCleanSerializer(serializers.ModelSerializer):
    """A ModelSerializer that also runs the model's ``full_clean``.

    Models hold their own rules (a template's syntax and activation check, a trigger's SSRF
    guard, the SMTP security rule); admin's forms run them through ``full_clean``, and so does
    the API, so the same input gets the same messages whichever way it comes in.
    """

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        model = self.Meta.model
        names = {field.name for field in model._meta.concrete_fields}
        values = {name: value for name, value in attrs.items() if name in names}
        candidate = copy.copy(self.instance) if self.instance is not None else model()
        for name, value in values.items():
            setattr(candidate, name, value)
        candidate.full_clean()  # DRF turns a Django ValidationError into a field-level 400
        return attrs
