"""/metrics for Prometheus: protected by a bearer token, or a staff login."""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .metrics import registry


def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.POSTBACKS_METRICS_TOKEN
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ")
    allowed = (token and hmac.compare_digest(offered, token)) or request.user.is_staff
    if not allowed:
        response = HttpResponse(
            "Metrics need a bearer token (POSTBACKS_METRICS_TOKEN).\n",
            status=401,
            content_type="text/plain",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
