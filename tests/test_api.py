"""The REST API: every endpoint, its permissions by role, its validation errors, its format."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from delivery.models import DeliveryAttempt, Postback, WorkspaceSettings
from delivery.signing import sign
from templates_app.models import LookupEntry, LookupTable, Template
from triggers.models import Trigger

from .api_clients import token_client, user_with_permissions
from .factories import make_customer, make_order, make_template, make_trigger, use_mail_server
from .smtp_server import SmtpServer
from .waiting import wait_until

pytestmark = pytest.mark.django_db


def schema_operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(method, path) for path, item in schema["paths"].items() for method in item]


@pytest.fixture
def world(receiver):
    """One object of every kind, so every read endpoint has something to answer with."""
    customer = make_customer()
    order = make_order(customer)
    trigger = make_trigger(customer, url=receiver.url())
    table = LookupTable.objects.create(name="Carriers", template_field="carrier")
    entry = LookupEntry.objects.create(table=table, key="ups_standard", value="UPS")
    postback = Postback.objects.create(
        trigger=trigger,
        order=order,
        order_reference=order.reference_id,
        event="order_shipped",
        event_data={"orderReferenceId": order.reference_id},
        status=Postback.Status.FAILED,
    )
    return {
        "customers": customer.pk,
        "orders": order.pk,
        "templates": trigger.template_id,
        "lookup-tables": table.pk,
        "lookup-entries": entry.pk,
        "triggers": trigger.pk,
        "postbacks": postback.pk,
    }


def url_in(world: dict[str, int], path: str) -> str:
    return path.replace("{id}", str(world.get(path.split("/")[2], 0)))


def errors(response) -> dict:
    body = response.json()
    assert set(body) == {"errors"}, body
    return body["errors"]


# --- Permissions: anonymous, read-only, staff ---------------------------------------------


def test_anonymous_requests_get_401_on_every_operation():
    client = APIClient()
    for method, path in schema_operations():
        response = getattr(client, method)(path.replace("{id}", "1"))
        assert response.status_code == 401, (method, path)
        assert response["WWW-Authenticate"] == "Token"
        assert errors(response) == {"detail": ["Authentication credentials were not provided."]}


def test_a_wrong_token_gets_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/postbacks/")
    assert response.status_code == 401
    assert errors(response) == {"detail": ["Invalid token."]}


def test_read_only_role_reads_everything_and_changes_nothing(readonly_api, world, quiet_broker):
    operations = schema_operations()
    assert {method for method, _ in operations} == {"get", "post", "put", "patch", "delete"}
    for method, path in operations:
        response = getattr(readonly_api, method)(url_in(world, path), {}, format="json")
        if method == "get":
            assert response.status_code == 200, (method, path, response.content)
        else:
            assert response.status_code == 403, (method, path, response.content)
            assert errors(response) == {
                "detail": ["You do not have permission to perform this action."]
            }
    assert Postback.objects.get().attempts.count() == 0


def test_without_view_permission_nothing_is_readable(world):
    client = token_client(user_with_permissions("outsider", ()))
    for method, path in schema_operations():
        if method == "get":
            assert client.get(url_in(world, path)).status_code == 403, path


def test_staff_session_works_like_a_token(client):
    user = user_with_permissions("clerk", ("view", "change"))
    client.force_login(user)
    assert client.get("/api/customers/").status_code == 200
    # Session requests that change something need the CSRF token, as admin's forms do.
    csrf_client = APIClient(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    assert csrf_client.post("/api/orders/", {}, format="json").status_code == 403


# --- Error format ---------------------------------------------------------------------------


def test_not_found_and_method_not_allowed_use_the_error_format(staff_api):
    missing = staff_api.get("/api/customers/999999/")
    assert missing.status_code == 404
    assert errors(missing) == {"detail": ["No Customer matches the given query."]}
    not_allowed = staff_api.delete("/api/workspace-settings/")
    assert not_allowed.status_code == 405
    assert errors(not_allowed) == {"detail": ['Method "DELETE" not allowed.']}


def test_deleting_what_others_still_use_is_a_conflict(staff_api):
    customer = make_customer()
    make_order(customer)

    response = staff_api.delete(f"/api/customers/{customer.pk}/")

    assert response.status_code == 409
    assert errors(response) == {"detail": ["Cannot delete it: orders still refer to it."]}


def test_throttling_counts_per_token(settings, staff_api):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "3/minute", "sends": "1/minute"},
    }
    answers = [staff_api.get("/api/customers/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    throttled = staff_api.get("/api/customers/")
    assert int(throttled["Retry-After"]) > 0
    assert errors(throttled)["detail"][0].startswith("Request was throttled.")
    # Another integration's token has its own allowance.
    other = token_client(user_with_permissions("other", ("view",)))
    assert other.get("/api/customers/").status_code == 200


# --- Customers and orders -------------------------------------------------------------------


def test_customers_create_list_update_delete(staff_api):
    created = staff_api.post(
        "/api/customers/",
        {"name": "Acme Prints", "reference_id": "acme", "contact_email": "ops@acme.example"},
        format="json",
    )
    assert created.status_code == 201, created.content
    customer_id = created.json()["id"]
    make_customer(name="Other", is_active=False)

    listed = staff_api.get("/api/customers/", {"is_active": "true", "ordering": "-name"})
    assert [c["reference_id"] for c in listed.json()["results"]] == ["acme"]
    renamed = staff_api.patch(f"/api/customers/{customer_id}/", {"name": "Acme"}, format="json")
    assert renamed.json()["name"] == "Acme"
    assert staff_api.delete(f"/api/customers/{customer_id}/").status_code == 204


def test_customer_validation_errors_name_their_fields(staff_api):
    make_customer(reference_id="acme")

    response = staff_api.post(
        "/api/customers/",
        {"name": "", "reference_id": "acme", "contact_email": "not-an-address"},
        format="json",
    )

    assert response.status_code == 400
    assert errors(response) == {
        "name": ["This field may not be blank."],
        "reference_id": ["customer with this reference id already exists."],
        "contact_email": ["Enter a valid email address."],
    }


def test_creating_an_order_and_changing_its_status_raise_postbacks(staff_api, quiet_broker):
    customer = make_customer()
    make_trigger(customer, url="http://127.0.0.1:9/hook", event="order_received")
    make_trigger(customer, url="http://127.0.0.1:9/hook", event="order_shipped")

    created = staff_api.post(
        "/api/orders/",
        {"customer": customer.pk, "reference_id": "PO-1", "data": {"items": []}},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "received"
    order_id = created.json()["id"]
    shipped = staff_api.patch(f"/api/orders/{order_id}/", {"status": "shipped"}, format="json")
    assert shipped.status_code == 200
    data_only = staff_api.patch(f"/api/orders/{order_id}/", {"data": {"a": 1}}, format="json")
    assert data_only.json()["data"] == {"a": 1}

    events = Postback.objects.order_by("id").values_list("event", flat=True)
    assert list(events) == ["order_received", "order_shipped"]
    listed = staff_api.get("/api/orders/", {"customer": customer.pk, "status": "shipped"})
    assert [o["reference_id"] for o in listed.json()["results"]] == ["PO-1"]


def test_order_validation_errors(staff_api):
    customer, other = make_customer(), make_customer()
    order = make_order(customer, reference_id="PO-1")

    duplicate = staff_api.post(
        "/api/orders/", {"customer": customer.pk, "reference_id": "PO-1"}, format="json"
    )
    assert duplicate.status_code == 400
    assert errors(duplicate) == {
        "non_field_errors": ["The fields customer, reference_id must make a unique set."]
    }
    bad = staff_api.patch(
        f"/api/orders/{order.pk}/",
        {"status": "lost", "data": ["not", "an", "object"], "customer": other.pk},
        format="json",
    )
    assert bad.status_code == 400
    assert errors(bad) == {
        "status": ['"lost" is not a valid choice.'],
        "data": ['Expected a dictionary of items but got type "list".'],
        "customer": ["An order cannot move to another customer."],
    }
    nul = staff_api.patch(f"/api/orders/{order.pk}/", {"data": {"a": "x\x00y"}}, format="json")
    assert errors(nul) == {"data": ["The order data cannot contain the NUL character (\\u0000)."]}
    order.refresh_from_db()
    assert (order.status, order.customer) == ("produced", customer)


@pytest.mark.e2e
def test_status_change_through_the_api_is_delivered(celery_worker, receiver):
    client = token_client(user_with_permissions("integration", ("view", "change")))
    customer = make_customer()
    trigger = make_trigger(customer, url=receiver.url("/hooks/api"))
    order = make_order(customer, reference_id="PO-API")

    response = client.patch(f"/api/orders/{order.pk}/", {"status": "shipped"}, format="json")

    assert response.status_code == 200, response.content
    (request,) = receiver.wait_for(1)
    assert request.path == "/hooks/api"
    assert json.loads(request.body)["orderReferenceId"] == "PO-API"
    timestamp = int(request.headers["webhook-timestamp"])
    expected = sign(
        [trigger.signing_secret], request.headers["webhook-id"], timestamp, request.body
    )
    assert request.headers["webhook-signature"] == expected


# --- Templates ------------------------------------------------------------------------------


def test_template_create_runs_the_same_checks_as_admin(staff_api):
    broken = staff_api.post(
        "/api/templates/",
        {"name": "Shipped", "body": '{\n  "a": "{{ event }"\n}', "subject": "Hi"},
        format="json",
    )
    assert broken.status_code == 400
    problems = errors(broken)
    assert problems["subject"] == ["Only email templates have a subject."]
    assert problems["body"][0].startswith("Line 2: unexpected '}'")

    inactive_ok = staff_api.post(
        "/api/templates/",
        {"name": "Draft", "body": '{"a": "{{ nope.deeper }}"}', "event": "order_shipped"},
        format="json",
    )
    assert inactive_ok.status_code == 400
    assert errors(inactive_ok)["body"][0].startswith("Cannot be active:")
    created = staff_api.post(
        "/api/templates/",
        {"name": "Draft", "body": '{"a": "{{ nope.deeper }}"}', "is_active": False},
        format="json",
    )
    assert created.status_code == 201
    assert Template.objects.get(name="Draft").is_active is False


def test_render_with_sample_data_with_given_data_and_with_problems(staff_api):
    template = make_template(event="order_shipped")

    sample = staff_api.post(f"/api/templates/{template.pk}/render/", {}, format="json")
    assert sample.status_code == 200
    result = sample.json()
    assert result["ok"] is True and result["errors"] == [] and result["undefined"] == []
    assert result["message"]["content_type"] == "application/json"
    assert json.loads(result["message"]["body"])["event"] == "order_shipped"

    given = staff_api.post(
        f"/api/templates/{template.pk}/render/",
        {"data": {"event": "x", "orderReferenceId": "R-1", "fulfillmentStatus": "s", "items": []}},
        format="json",
    )
    assert json.loads(given.json()["message"]["body"])["orderReferenceId"] == "R-1"

    failing = make_template(body='{\n"a": "{{ missing }}",\n"b": {{ 1 / 0 }}\n}')
    failed = staff_api.post(
        f"/api/templates/{failing.pk}/render/", {"event": "order_shipped"}, format="json"
    ).json()
    assert failed["ok"] is False and failed["message"] is None
    assert failed["undefined"] == ["missing"]
    assert failed["errors"] == [
        {"field": "body", "message": "division by zero", "line": 3},
        {"field": "body", "message": "undefined names used: missing", "line": None},
    ]

    notice = make_template(body='{"a": "##{{ event }}"}')
    noticed = staff_api.post(
        f"/api/templates/{notice.pk}/render/", {"event": "order_shipped"}, format="json"
    ).json()
    assert noticed["ok"] and noticed["notices"][0].startswith('body: read 1 "##{{" marker(s)')


def test_render_input_is_validated(staff_api, readonly_api):
    template = make_template()
    url = f"/api/templates/{template.pk}/render/"

    bad = staff_api.post(url, {"event": "nope", "data": "text", "customer": 999999}, format="json")

    assert bad.status_code == 400
    assert set(errors(bad)) == {"event", "data", "customer"}
    no_event = staff_api.post(url, {}, format="json").json()
    assert no_event["errors"][0]["field"] == "data"
    assert readonly_api.post(url, {}, format="json").status_code == 403


# --- Lookup tables --------------------------------------------------------------------------


def test_lookup_tables_and_rows(staff_api):
    customer = make_customer()
    created = staff_api.post(
        "/api/lookup-tables/",
        {"name": "Carriers", "template_field": "carrier", "customer": customer.pk},
        format="json",
    )
    assert created.status_code == 201, created.content
    table_id = created.json()["id"]
    duplicate = staff_api.post(
        "/api/lookup-tables/",
        {"name": "Again", "template_field": "carrier", "customer": customer.pk},
        format="json",
    )
    assert duplicate.status_code == 400
    assert errors(duplicate) == {
        "non_field_errors": ["This customer already has a table for that field."]
    }

    row = staff_api.post(
        "/api/lookup-entries/", {"table": table_id, "key": "ups", "value": "UPS"}, format="json"
    )
    assert row.status_code == 201
    again = staff_api.post(
        "/api/lookup-entries/", {"table": table_id, "key": "ups", "value": "x"}, format="json"
    )
    assert errors(again) == {"non_field_errors": ["The fields table, key must make a unique set."]}
    rows = staff_api.get("/api/lookup-entries/", {"table": table_id}).json()["results"]
    assert [(r["key"], r["value"]) for r in rows] == [("ups", "UPS")]
    assert staff_api.get(f"/api/lookup-tables/{table_id}/").json()["entry_count"] == 1


def test_lookup_csv_import_and_export(staff_api, readonly_api):
    table = LookupTable.objects.create(name="Carriers", template_field="carrier")
    url = f"/api/lookup-tables/{table.pk}/import-csv/"

    imported = staff_api.post(url, {"file": _csv(b"key,value\nups,UPS\ndhl;x,DHL\n")})
    assert imported.status_code == 200, imported.content
    assert imported.json() == {"imported": 2}
    kept = staff_api.post(url, {"file": _csv(b"fedex,FedEx\n"), "replace": "false"})
    assert kept.json() == {"imported": 1}
    exported = readonly_api.get(f"/api/lookup-tables/{table.pk}/export-csv/")
    assert exported["Content-Type"] == "text/csv; charset=utf-8"
    assert exported.content.decode() == "key,value\r\ndhl;x,DHL\r\nfedex,FedEx\r\nups,UPS\r\n"

    bad = staff_api.post(url, {"file": _csv(b"a,1\n,2\na,3\n")})
    assert bad.status_code == 400
    assert errors(bad) == {
        "non_field_errors": [
            'Nothing was imported. line 2: the key is empty; line 3: key "a" is already on line 1.'
        ]
    }
    missing = staff_api.post(url, {}, format="multipart")
    assert errors(missing) == {"file": ["No file was submitted."]}
    assert LookupEntry.objects.filter(table=table).count() == 3
    assert readonly_api.post(url, {"file": _csv(b"a,b\n")}).status_code == 403


def _csv(content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("rows.csv", content, content_type="text/csv")


# --- Triggers -------------------------------------------------------------------------------


def trigger_fields(customer, template, **fields) -> dict:
    return {
        "customer": customer.pk,
        "name": "Shipped to ERP",
        "event": "order_shipped",
        "template": template.pk,
        "url": "http://127.0.0.1:9/hooks",
        **fields,
    }


def test_trigger_secrets_are_never_read_back(staff_api, readonly_api):
    customer, template = make_customer(), make_template()
    created = staff_api.post(
        "/api/triggers/",
        trigger_fields(
            customer,
            template,
            custom_headers="X-Api-Key: key-0123456789-abcd\nX-Short: tiny",
            auth_type="bearer",
            auth_secret="bearer-token-value",
        ),
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    trigger = Trigger.objects.get()
    assert body["signing_secret"] == trigger.signing_secret
    assert body["signing_secret"].startswith("whsec_")

    for client in (staff_api, readonly_api):
        shown = client.get(f"/api/triggers/{trigger.pk}/").json()
        text = json.dumps(shown)
        assert "signing_secret" not in shown and trigger.signing_secret not in text
        assert "bearer-token-value" not in text and "key-0123456789" not in text
        assert "auth_secret" not in shown and "custom_headers" not in shown
        assert shown["auth_secret_set"] is True
        assert shown["custom_headers_masked"] == {"X-Api-Key": "****abcd", "X-Short": "****"}

    staff_api.patch(f"/api/triggers/{trigger.pk}/", {"name": "Renamed"}, format="json")
    trigger.refresh_from_db()
    assert trigger.auth_secret == "bearer-token-value"
    assert trigger.header_pairs()[0] == ("X-Api-Key", "key-0123456789-abcd")


def test_trigger_validation_is_the_models(staff_api):
    customer = make_customer()
    email_template = make_template(kind="email", subject="Shipped", body="Shipped.")

    response = staff_api.post(
        "/api/triggers/",
        trigger_fields(
            customer,
            email_template,
            url="http://10.0.0.5/hook",
            custom_headers="webhook-id: mine",
            auth_type="basic",
        ),
        format="json",
    )

    assert response.status_code == 400
    problems = errors(response)
    assert problems["url"][0].startswith("10.0.0.5 is a private address")
    assert problems["custom_headers"] == [
        "Line 1: webhook-id is set by Postbacks and cannot be replaced."
    ]
    assert problems["auth_secret"] == ["Enter the password or token for this authentication."]
    assert problems["auth_username"] == ["HTTP Basic authentication needs a user name."]
    assert problems["template"][0].startswith("This trigger sends by webhook (url)")
    missing = staff_api.post("/api/triggers/", {}, format="json")
    assert set(errors(missing)) == {"customer", "name", "event", "template"}
    assert Trigger.objects.count() == 0


def test_activating_a_trigger_runs_the_activation_check(staff_api):
    customer = make_customer()
    broken = make_template(body='{"a": "{{ missing }}"}', is_active=False)

    refused = staff_api.post("/api/triggers/", trigger_fields(customer, broken), format="json")
    assert refused.status_code == 400
    (reason, *more) = errors(refused)["is_active"]
    assert reason == f"The template “{broken}” is inactive."
    assert more[0].startswith("The template does not render the order shipped sample data")
    assert Trigger.objects.count() == 0

    inactive = staff_api.post(
        "/api/triggers/", trigger_fields(customer, broken, is_active=False), format="json"
    )
    assert inactive.status_code == 201
    trigger_id = inactive.json()["id"]
    still = staff_api.patch(f"/api/triggers/{trigger_id}/", {"is_active": True}, format="json")
    assert still.status_code == 400 and "is_active" in errors(still)
    working = make_template()
    fixed = staff_api.patch(
        f"/api/triggers/{trigger_id}/", {"template": working.pk, "is_active": True}, format="json"
    )
    assert fixed.status_code == 200, fixed.content
    assert Trigger.objects.get().is_active is True


def test_rotating_the_secret_shows_the_new_one_once(staff_api, readonly_api):
    trigger = make_trigger(make_customer(), url="http://127.0.0.1:9/")
    old = trigger.signing_secret
    url = f"/api/triggers/{trigger.pk}/rotate-secret/"

    assert readonly_api.post(url).status_code == 403
    response = staff_api.post(url)

    assert response.status_code == 200
    trigger.refresh_from_db()
    assert response.json()["signing_secret"] == trigger.signing_secret != old
    assert trigger.previous_signing_secret == old
    assert trigger.previous_secret_expires_at > timezone.now()


def test_trigger_test_sends_sample_data_and_returns_the_attempt(staff_api, receiver):
    trigger = make_trigger(
        make_customer(),
        url=receiver.url("/hooks/test"),
        custom_headers="X-Api-Key: key-0123456789-abcd",
        is_active=False,
    )

    response = staff_api.post(f"/api/triggers/{trigger.pk}/test/")

    assert response.status_code == 200, response.content
    attempt = response.json()
    (request,) = receiver.wait_for(1)
    assert request.headers["x-api-key"] == "key-0123456789-abcd"
    assert attempt["outcome"] == "success" and attempt["response_status"] == 200
    assert attempt["request_headers"]["X-Api-Key"] == "****abcd"
    assert json.loads(attempt["request_body"]) == json.loads(request.body)
    assert Postback.objects.get().is_test is True


def test_read_only_role_cannot_edit_triggers(readonly_api):
    trigger = make_trigger(make_customer(), url="http://127.0.0.1:9/")
    url = f"/api/triggers/{trigger.pk}/"

    assert readonly_api.get(url).status_code == 200
    assert readonly_api.patch(url, {"name": "x"}, format="json").status_code == 403
    assert readonly_api.post(f"{url}test/").status_code == 403
    assert readonly_api.delete(url).status_code == 403
    assert Trigger.objects.get().name == trigger.name


# --- Workspace settings ---------------------------------------------------------------------


def test_workspace_settings_never_show_the_smtp_password(staff_api, readonly_api):
    url = "/api/workspace-settings/"
    saved = staff_api.patch(
        url,
        {
            "sender_email": "orders@psp.example",
            "smtp_host": "127.0.0.1",
            "smtp_security": "starttls",
            "smtp_password": "s3cret-password",
        },
        format="json",
    )
    assert saved.status_code == 200, saved.content
    for response in (saved, staff_api.get(url), readonly_api.get(url)):
        assert "s3cret-password" not in response.content.decode()
        assert "smtp_password" not in response.json()
        assert response.json()["smtp_password_set"] is True

    staff_api.patch(url, {"smtp_password": "", "sender_name": "PSP"}, format="json")
    assert WorkspaceSettings.load().smtp_password == "s3cret-password"
    assert readonly_api.patch(url, {"sender_name": "x"}, format="json").status_code == 403


def test_workspace_settings_are_validated_like_admin(staff_api):
    response = staff_api.put(
        "/api/workspace-settings/",
        {"smtp_host": "mail.example.com", "smtp_port": 70000, "smtp_security": "none"},
        format="json",
    )

    assert response.status_code == 400
    problems = errors(response)
    assert problems["smtp_port"] == ["Enter a port between 1 and 65535 (usually 587 or 465)."]
    assert problems["smtp_security"][0].startswith("Without encryption the password")
    assert problems["sender_email"][0].startswith("Emails sent through your own SMTP server")


def test_send_test_email_through_a_local_server(staff_api, readonly_api):
    url = "/api/workspace-settings/send-test-email/"
    with SmtpServer() as server:
        use_mail_server(server.port)
        response = staff_api.post(url, {"to": "staff@psp.example"}, format="json")
        assert readonly_api.post(url, {"to": "staff@psp.example"}).status_code == 403

    assert response.status_code == 200, response.content
    result = response.json()
    assert result["ok"] is True and result["stage"] == "sent" and result["smtp_code"] == 250
    assert result["message"].startswith("Sent to staff@psp.example: 127.0.0.1:")
    assert [r.rcpt_tos for r in server.received] == [["staff@psp.example"]]
    bad = staff_api.post(url, {"to": "not an address"}, format="json")
    assert errors(bad) == {"to": ["Enter a valid email address."]}


def test_send_test_email_reports_how_far_it_got(staff_api):
    with SmtpServer() as server:
        port = server.port
    use_mail_server(port)  # nothing listens there any more

    result = staff_api.post(
        "/api/workspace-settings/send-test-email/", {"to": "a@b.example"}, format="json"
    ).json()

    assert result["ok"] is False and result["stage"] == "connection_refused"


# --- The delivery log -----------------------------------------------------------------------


def make_postback(trigger, **fields) -> Postback:
    fields.setdefault("event", "order_shipped")
    fields.setdefault("event_data", {})
    return Postback.objects.create(trigger=trigger, **fields)


def test_the_delivery_log_pages_with_a_cursor(readonly_api):
    trigger = make_trigger(make_customer(), url="http://127.0.0.1:9/")
    made = [make_postback(trigger, order_reference=f"PO-{n}") for n in range(5)]

    first = readonly_api.get("/api/postbacks/", {"page_size": 2}).json()
    assert set(first) == {"next", "previous", "results"}
    seen = [p["order_reference"] for p in first["results"]]
    following = first["next"]
    while following:
        page = readonly_api.get(following).json()
        seen += [p["order_reference"] for p in page["results"]]
        following = page["next"]

    assert seen == [p.order_reference for p in reversed(made)]
    oldest_first = readonly_api.get("/api/postbacks/", {"ordering": "created_at"}).json()
    assert oldest_first["results"][0]["order_reference"] == "PO-0"
    invalid = readonly_api.get("/api/postbacks/", {"cursor": "garbage"})
    assert invalid.status_code == 404 and errors(invalid) == {"detail": ["Invalid cursor"]}


def test_the_delivery_log_filters(readonly_api):
    acme, other = make_customer(), make_customer()
    acme_trigger = make_trigger(acme, url="http://127.0.0.1:9/")
    other_trigger = make_trigger(other, url="http://127.0.0.1:9/")
    old = make_postback(acme_trigger, order_reference="PO-1", status=Postback.Status.FAILED)
    Postback.objects.filter(pk=old.pk).update(created_at=timezone.now() - timezone.timedelta(9))
    make_postback(acme_trigger, order_reference="PO-2", event="order_delivered")
    make_postback(other_trigger, order_reference="PO-3", status=Postback.Status.DELIVERED)

    def references(**query) -> list[str]:
        response = readonly_api.get("/api/postbacks/", query)
        assert response.status_code == 200, response.content
        return sorted(p["order_reference"] for p in response.json()["results"])

    assert references(customer=acme.pk) == ["PO-1", "PO-2"]
    assert references(trigger=other_trigger.pk) == ["PO-3"]
    assert references(event="order_delivered") == ["PO-2"]
    assert references(status=["failed", "delivered"]) == ["PO-1", "PO-3"]
    assert references(order_reference="PO-2") == ["PO-2"]
    since = (timezone.now() - timezone.timedelta(1)).isoformat()
    assert references(created_after=since) == ["PO-2", "PO-3"]
    assert references(created_before=since) == ["PO-1"]
    # Offsets PostgreSQL cannot store are converted to UTC first (found by the fuzz test).
    assert references(created_before="2000-01-01T00:00:00+20:05") == []
    bad = readonly_api.get(
        "/api/postbacks/",
        {
            "created_after": "yesterday",
            "created_before": "0001-01-01T00:00:00+05:00",
            "status": "lost",
            "customer": 999999,
        },
    )
    assert bad.status_code == 400
    assert set(errors(bad)) == {"created_after", "created_before", "status", "customer"}
    assert errors(bad)["created_before"] == ["Enter a time within the years 1 to 9999 in UTC."]


def test_a_postback_shows_its_attempts(readonly_api):
    trigger = make_trigger(make_customer(), url="http://127.0.0.1:9/")
    postback = make_postback(trigger, order_reference="PO-1")
    DeliveryAttempt.objects.create(
        postback=postback,
        number=1,
        started_at=timezone.now(),
        outcome=DeliveryAttempt.Outcome.PERMANENT,
        destination=trigger.url,
        request_headers={"Authorization": "Bearer ****"},
        response_status=404,
    )

    shown = readonly_api.get(f"/api/postbacks/{postback.pk}/").json()

    assert shown["customer"] == trigger.customer_id and shown["trigger"] == trigger.pk
    assert [(a["number"], a["response_status"]) for a in shown["attempts"]] == [(1, 404)]
    assert "claimed_until" not in shown and "enqueued_at" not in shown
    assert "attempts" not in readonly_api.get("/api/postbacks/").json()["results"][0]


@pytest.mark.e2e
def test_resend_and_retry_failed_deliver_again(staff_api, celery_worker, receiver):
    customer = make_customer()
    trigger = make_trigger(customer, url=receiver.url(), retry_on_failure=False)
    receiver.reply_with(500, 500, then=200)
    first, second = (make_order(customer, status="shipped") for _ in range(2))
    receiver.wait_for(2)
    postbacks = list(Postback.objects.filter(trigger=trigger))
    wait_until_all(postbacks, Postback.Status.FAILED)

    one = staff_api.post(f"/api/postbacks/{postbacks[0].pk}/resend/")
    assert one.status_code == 202 and one.json() == {"queued": 1}
    wait_until_all(postbacks[:1], Postback.Status.DELIVERED)
    rest = staff_api.post("/api/postbacks/retry-failed/", {}, format="json")
    assert rest.json() == {"queued": 1}
    wait_until_all(postbacks, Postback.Status.DELIVERED)
    assert {p.order_id for p in postbacks} == {first.pk, second.pk}
    assert len(receiver.received) == 4


def test_retry_failed_takes_the_log_filters(staff_api, quiet_broker):
    acme, other = make_customer(), make_customer()
    failed = Postback.Status.FAILED
    make_postback(make_trigger(acme, url="http://127.0.0.1:9/"), status=failed)
    make_postback(make_trigger(other, url="http://127.0.0.1:9/"), status=failed)
    make_postback(make_trigger(other, url="http://127.0.0.1:9/"), status="delivered")

    scoped = staff_api.post(f"/api/postbacks/retry-failed/?customer={acme.pk}")
    everything = staff_api.post("/api/postbacks/retry-failed/")

    assert (scoped.json(), everything.json()) == ({"queued": 1}, {"queued": 2})
    assert staff_api.post("/api/postbacks/retry-failed/?status=lost").status_code == 400


def wait_until_all(postbacks: list[Postback], status: str) -> None:
    def settled() -> bool:
        for postback in postbacks:
            postback.refresh_from_db()
        return all(p.status == status for p in postbacks)

    wait_until(settled)
