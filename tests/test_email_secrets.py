"""The SMTP password is never in clear in the database, a log record, the API or an attempt."""

import base64
import logging

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse

from delivery import services
from delivery.email_check import send_test_email
from delivery.models import DeliveryAttempt, WorkspaceSettings
from templates_app.models import Template

from .factories import make_customer, make_order, make_template, make_trigger, use_mail_server
from .smtp_server import Behaviour, SmtpServer

pytestmark = pytest.mark.django_db

USER, PASSWORD, WRONG = "postbacks", "Tr0ub4dor&3-smtp", "Wr0ng-but-also-secret"


def the_secrets() -> list[str]:
    """Each password as typed, and as it crosses the wire in AUTH PLAIN and AUTH LOGIN."""
    forms = []
    for password in (PASSWORD, WRONG):
        forms += [
            password,
            base64.b64encode(password.encode()).decode(),
            base64.b64encode(f"\0{USER}\0{password}".encode()).decode(),
        ]
    return forms


def raw_database_text() -> str:
    """Every row of every table as stored, bypassing the fields' decryption."""
    rows = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")
            rows += [repr(row) for row in cursor.fetchall()]
    return "\n".join(rows)


def test_the_password_stays_secret_through_failed_and_working_sends(
    trust_test_ca, caplog, capfd, admin_client
):
    caplog.set_level(logging.DEBUG)  # every logger, the test mail server's included
    customer = make_customer()
    template = make_template(kind=Template.Kind.EMAIL, subject="Shipped", body="Shipped.")
    make_trigger(
        customer, template=template, delivery_method="email", email_recipients="ops@psp.example"
    )
    behaviour = Behaviour(credentials=(USER, PASSWORD))
    with SmtpServer(starttls_context=trust_test_ca.server_context, behaviour=behaviour) as server:
        for password in (WRONG, PASSWORD):
            workspace = use_mail_server(
                server.port, security="starttls", smtp_username=USER, smtp_password=password
            )
            send_test_email(workspace, "staff@psp.example")
            order = make_order(customer, status="shipped")
            services.deliver(order.postbacks.get().pk)
        assert len(server.received) == 2  # the working password did get through

    outcomes = list(
        DeliveryAttempt.objects.order_by("pk").values_list("outcome", "response_status")
    )
    assert outcomes == [("permanent", 535), ("success", 250)]
    assert WorkspaceSettings.load().smtp_password == PASSWORD
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "535" in logged  # the failure was logged, in words
    printed = capfd.readouterr()
    pages = [
        admin_client.get("/api/postbacks/").content.decode(),
        admin_client.get(reverse("admin:delivery_workspacesettings_change", args=[1])).content,
        admin_client.get(reverse("admin:delivery_postback_changelist")).content,
    ]
    for where, text in {
        "the database": raw_database_text(),
        "a log record": logged,
        "stdout or stderr": printed.out + printed.err,
        "an API or admin page": "\n".join(map(str, pages)),
    }.items():
        for secret in the_secrets():
            assert secret not in text, f"a password was found in {where}"
