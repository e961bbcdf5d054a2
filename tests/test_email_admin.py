"""The workspace settings page: the Send-test-email button, and the security rule on save."""

import pytest
from django.urls import reverse

from delivery.models import WorkspaceSettings

from .factories import use_mail_server
from .smtp_server import SmtpServer

pytestmark = pytest.mark.django_db

CHANGE_URL = reverse("admin:delivery_workspacesettings_change", args=[1])
CHECK_URL = reverse("admin:delivery_workspacesettings_send_test_email", args=[1])


def test_the_settings_page_links_to_the_check(admin_client):
    WorkspaceSettings.load()

    assert f'href="{CHECK_URL}"' in admin_client.get(CHANGE_URL).content.decode()


def test_the_check_asks_for_an_address_then_sends_and_reports(admin_client, admin_user):
    admin_user.email = "admin@psp.example"
    admin_user.save()
    with SmtpServer() as server:
        use_mail_server(server.port)

        form_page = admin_client.get(CHECK_URL).content.decode()
        response = admin_client.post(CHECK_URL, {"to": "staff@psp.example"})

        assert 'value="admin@psp.example"' in form_page
        assert f"127.0.0.1:{server.port}" in form_page
        assert server.received[0].rcpt_tos == ["staff@psp.example"]
    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="success" id="test-email-result"' in page
    assert f"Sent to staff@psp.example: 127.0.0.1:{server.port} accepted the test message." in page
    assert "Server reply: 250 2.0.0 Ok: queued as Q1" in page


def test_the_check_reports_a_failure_in_words(admin_client):
    with SmtpServer() as server:
        port = server.port
    use_mail_server(port)  # the server is gone

    page = admin_client.post(CHECK_URL, {"to": "staff@psp.example"}).content.decode()

    assert 'class="error" id="test-email-result"' in page
    assert "The mail server refused the connection (nothing listening at that port)." in page


def test_the_check_refuses_a_bad_address(admin_client):
    WorkspaceSettings.load()

    page = admin_client.post(CHECK_URL, {"to": "nope"}).content.decode()

    assert "Enter a valid email address." in page
    assert "test-email-result" not in page


def test_the_check_needs_the_change_permission(client, django_user_model):
    staff = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    client.force_login(staff)

    assert client.get(CHECK_URL).status_code == 403


def test_saving_unencrypted_smtp_to_a_remote_host_shows_the_field_error(admin_client):
    WorkspaceSettings.load()
    response = admin_client.post(
        CHANGE_URL,
        {
            "sender_email": "orders@psp.example",
            "smtp_host": "mail.psp.example",
            "smtp_port": 25,
            "smtp_security": "none",
        },
    )

    assert response.status_code == 200
    assert (
        "Without encryption the password"
        in response.context["adminform"].form.errors["smtp_security"][0]
    )
