"""Admin: the Render panel, saving and activating templates, CSV import and export."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from templates_app.models import LookupEntry, LookupTable, Template
from templates_app.samples import DOC_EXAMPLE_TEMPLATE

from .factories import make_customer, make_template

pytestmark = pytest.mark.django_db

RENDER_URL = reverse("admin:templates_app_template_render")


def form_data(**fields) -> dict:
    """What the template change form posts, with the Render panel's inputs."""
    data = {
        "name": "Shipped",
        "kind": "webhook",
        "format": "json",
        "event": "order_shipped",
        "strict_undefined": "on",
        "is_active": "on",
        "subject": "",
        "body": DOC_EXAMPLE_TEMPLATE,
        "html_body": "",
        "render_event": "",
        "render_customer": "",
        "render_data": "",
    }
    data.update(fields)
    return data


def test_change_page_has_the_render_panel(admin_client):
    template = make_template(event="order_shipped")

    page = admin_client.get(reverse("admin:templates_app_template_change", args=[template.pk]))

    content = page.content.decode()
    assert f'formaction="{RENDER_URL}"' in content
    assert '<option value="order_shipped" selected>' in content


def test_render_shows_the_unsaved_text_pretty_printed(admin_client):
    saved = make_template(body='{"saved": true}')
    url = reverse("admin:templates_app_template_change", args=[saved.pk])
    admin_client.get(url)

    response = admin_client.post(RENDER_URL, form_data())

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "SAMEORIGIN"  # shown in the page's frame
    content = response.content.decode()
    assert "Rendered without errors." in content
    assert "  &quot;trackingCode&quot;: &quot;1Z999AA10123456784&quot;," in content
    assert "saved" not in content
    saved.refresh_from_db()
    assert saved.body == '{"saved": true}'


def test_render_reports_notices_undefined_names_and_errors_with_lines(admin_client):
    body = '{\n"a": "##{{ orderId }}",\n"b": "{{ produksjon.trackingCode }}",\n"c": {{ 1 // 0 }}\n}'

    response = admin_client.post(RENDER_URL, form_data(body=body, strict_undefined=""))

    content = response.content.decode()
    assert "<h3>Errors</h3>" in content and "body, line 4: integer division" in content
    assert "<code>produksjon.trackingCode</code>" in content
    assert "read 1 &quot;##{{&quot; marker(s)" in content


def test_render_with_pasted_data_and_a_customers_lookups(admin_client):
    customer = make_customer()
    table = LookupTable.objects.create(name="c", customer=customer, template_field="carrier")
    LookupEntry.objects.create(table=table, key="ups", value="UPS Ground")
    body = '{"carrier": "{{ lookups({"carrier": code}) }}"}'

    response = admin_client.post(
        RENDER_URL,
        form_data(body=body, render_data='{"code": "ups"}', render_customer=customer.pk),
    )

    assert "&quot;carrier&quot;: &quot;UPS Ground&quot;" in response.content.decode()


def test_render_shows_xml_pretty_and_email_parts(admin_client):
    xml = admin_client.post(
        RENDER_URL, form_data(format="xml", body="<o><r>{{ orderReferenceId }}</r></o>")
    ).content.decode()
    email = admin_client.post(
        RENDER_URL,
        form_data(
            kind="email",
            subject="Shipped: {{ orderReferenceId }}",
            body="Hi {{ customer.name }}",
            html_body="<p>{{ customer.name }}</p>",
        ),
    ).content.decode()

    assert "&lt;o&gt;\n  &lt;r&gt;NP-2024-11873&lt;/r&gt;\n&lt;/o&gt;" in xml
    assert "<h3>Subject</h3>" in email and "Shipped: NP-2024-11873" in email
    assert "<h3>HTML body</h3>" in email and "&lt;p&gt;Nordlys Prints AS&lt;/p&gt;" in email


def test_render_is_post_only_and_reports_form_errors(admin_client):
    assert admin_client.get(RENDER_URL).status_code == 405
    response = admin_client.post(RENDER_URL, form_data(format="yaml"))
    assert "Format: Select a valid choice." in response.content.decode()


def test_render_needs_a_staff_login(client):
    assert client.post(RENDER_URL, form_data()).status_code == 302


def test_saving_a_template_with_a_syntax_error_is_refused_with_its_line(admin_client):
    response = admin_client.post(
        reverse("admin:templates_app_template_add"),
        form_data(body='{\n"a": "{{ orderId }"\n}', is_active=""),
    )

    assert response.status_code == 200
    assert "Line 2: unexpected" in response.content.decode()
    assert not Template.objects.exists()


def test_activating_a_template_that_fails_its_sample_is_refused_and_inactive_saves(admin_client):
    body = '{"a": "{{ nothing.here }}"}'
    add_url = reverse("admin:templates_app_template_add")

    refused = admin_client.post(add_url, form_data(body=body))
    saved = admin_client.post(add_url, form_data(body=body, is_active=""))

    assert "Cannot be active: rendering the sample data" in refused.content.decode()
    assert saved.status_code == 302
    assert Template.objects.get().is_active is False


def lookup_table() -> LookupTable:
    return LookupTable.objects.create(name="Carriers", template_field="shipmentMethodUid")


def test_csv_import_and_export_in_admin(admin_client):
    table = lookup_table()
    import_url = reverse("admin:templates_app_lookuptable_import_csv", args=[table.pk])
    change_url = reverse("admin:templates_app_lookuptable_change", args=[table.pk])
    upload = SimpleUploadedFile("carriers.csv", b"key,value\nups,UPS\ndhl,DHL\n")

    assert import_url in admin_client.get(change_url).content.decode()
    assert admin_client.get(import_url).status_code == 200
    response = admin_client.post(import_url, {"file": upload, "replace": "on"})
    exported = admin_client.get(
        reverse("admin:templates_app_lookuptable_export_csv", args=[table.pk])
    )

    assert response.status_code == 302 and response.url == change_url
    assert exported["Content-Type"] == "text/csv; charset=utf-8"
    assert exported.content.decode().splitlines() == ["key,value", "dhl,DHL", "ups,UPS"]


def test_csv_import_with_bad_rows_shows_them_and_imports_nothing(admin_client):
    table = lookup_table()
    import_url = reverse("admin:templates_app_lookuptable_import_csv", args=[table.pk])
    upload = SimpleUploadedFile("carriers.csv", b"ups,UPS\nbad\ndhl,DHL,x\n")

    response = admin_client.post(import_url, {"file": upload})

    content = response.content.decode()
    assert response.status_code == 200
    assert "line 2: expected 2 columns (key, value), found 1" in content
    assert "line 3: expected 2 columns (key, value), found 3" in content
    assert not table.entries.exists()


def test_pretty_output_is_json_for_the_api_too():
    from templates_app.services import pretty_output

    assert pretty_output('{"a":[1]}', "json") == json.dumps({"a": [1]}, indent=2)
    assert pretty_output("{not json", "json") == "{not json"
