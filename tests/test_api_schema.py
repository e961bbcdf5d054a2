"""The OpenAPI schema: valid, complete, browsable, and true enough that fuzzing it finds no
server error."""

import re

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.routers import APIRootView
from rest_framework.views import APIView
from schemathesis.checks import not_a_server_error

from .factories import make_customer, make_order, make_trigger

pytestmark = pytest.mark.django_db
WSGI_APP = get_wsgi_application()

# Operations that contact the outside world (a trigger's URL, an SMTP server): fuzzed input
# would make them send to addresses it made up. Their own tests use local servers.
SENDING_OPERATIONS = ["triggers_test_create", "workspace_settings_send_test_email_create"]


def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def routed_operations() -> set[tuple[str, str]]:
    """Every (method, path) the URL configuration routes to an API view under /api/."""
    found: set[tuple[str, str]] = set()

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
                continue
            assert isinstance(pattern, URLPattern)
            view = getattr(pattern.callback, "cls", None)
            if not (route.startswith("api/") and view and issubclass(view, APIView)):
                continue
            if view is APIRootView or view.__module__.startswith("drf_spectacular"):
                continue
            path = "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>", _parameter, route)
            actions = getattr(pattern.callback, "actions", None)
            methods = actions or {m: m for m in view.http_method_names if hasattr(view, m)}
            found.update((method, path) for method in methods if method not in ("head", "options"))

    walk(get_resolver().url_patterns, "")
    return found


def _parameter(match: re.Match) -> str:
    name = match.group(1) or match.group(2)
    return "{id}" if name == "pk" else "{" + name + "}"


def test_the_schema_is_valid_openapi_3():
    generated = schema()
    validate_schema(generated)  # raises on any violation of the OpenAPI 3 JSON schema
    assert generated["openapi"].startswith("3.")


def test_the_schema_covers_every_endpoint():
    documented = {(method, path) for path, item in schema()["paths"].items() for method in item}
    routed = routed_operations()
    assert len(routed) > 40
    assert documented == routed


def test_the_schema_documents_errors_and_hides_secrets():
    generated = schema()
    components = generated["components"]["schemas"]
    assert "signing_secret" not in components["Trigger"]["properties"]
    assert "signing_secret" in components["CreatedTrigger"]["properties"]
    for write_only in ("custom_headers", "auth_secret"):
        assert write_only not in components["Trigger"]["properties"]
        assert write_only in components["TriggerRequest"]["properties"]
    assert "smtp_password" not in components["WorkspaceSettings"]["properties"]
    list_postbacks = generated["paths"]["/api/postbacks/"]["get"]
    assert {p["name"] for p in list_postbacks["parameters"]} >= {
        "cursor",
        "customer",
        "trigger",
        "event",
        "status",
        "order_reference",
        "created_after",
        "created_before",
        "ordering",
    }
    error = {"$ref": "#/components/schemas/Error"}
    for item in generated["paths"].values():
        for operation in item.values():
            for code in ("401", "403", "429"):
                assert operation["responses"][code]["content"]["application/json"]["schema"] == (
                    error
                )


def test_schema_and_docs_are_served(client):
    served = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert served.status_code == 200
    assert set(served.json()["paths"]) == set(schema()["paths"])
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content and b"/api/schema/" in docs.content
    assert b"cdn.jsdelivr.net" not in docs.content  # served locally: works offline


# Built at import, from the same generator the schema view uses; no database needed for that.
fuzzed = schemathesis.openapi.from_dict(schema()).exclude(operation_id=SENDING_OPERATIONS)
fuzzed.config.phases.update(phases=["examples", "fuzzing"])


@pytest.fixture
def fuzz_headers(staff_api, quiet_broker, settings):
    """Staff credentials, no throttling, and a few objects for the fuzzed requests to find."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "100000/minute", "sends": "100000/minute"},
    }
    customer = make_customer()
    make_order(customer)
    make_trigger(customer, url="http://127.0.0.1:9/never-called")
    # As Django's test client does: keep this test's transaction open across requests.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield {"Authorization": staff_api._credentials["HTTP_AUTHORIZATION"]}
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@fuzzed.parametrize()
@hypothesis.settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_fuzzing_the_schema_finds_no_server_error(case, fuzz_headers):
    case.call_and_validate(app=WSGI_APP, headers=fuzz_headers, checks=[not_a_server_error])
