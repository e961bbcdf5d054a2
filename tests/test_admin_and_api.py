"""Every model is reachable in admin; the API needs a login and fires the same path."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from delivery.models import Postback, WorkspaceSettings

from .factories import make_customer, make_order, make_trigger

pytestmark = pytest.mark.django_db

PROJECT_APPS = ["customers", "templates_app", "triggers", "delivery"]


def project_models():
    for app_label in PROJECT_APPS:
        yield from apps.get_app_config(app_label).get_models()


def test_every_project_model_is_in_admin_on_its_own_or_inline():
    inline_models = {
        inline.model
        for model_admin in admin.site._registry.values()
        for inline in model_admin.inlines
    }
    # Bookkeeping of the delivery machinery, not something staff edit.
    internal = {apps.get_model("delivery", "DestinationSlot")}
    for model in set(project_models()) - internal:
        assert admin.site.is_registered(model) or model in inline_models, model


def test_admin_pages_render(admin_client, receiver):
    customer = make_customer()
    make_trigger(customer, url=receiver.url())
    make_order(customer, status="shipped")
    WorkspaceSettings.load()
    for model in filter(admin.site.is_registered, project_models()):
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert admin_client.get(changelist).status_code == 200, changelist
        obj = model.objects.first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            assert admin_client.get(change).status_code == 200, change


def test_changing_status_in_admin_creates_the_postback(admin_client, receiver):
    customer = make_customer()
    make_trigger(customer, url=receiver.url())
    order = make_order(customer)

    response = admin_client.post(
        reverse("admin:customers_order_change", args=[order.pk]),
        {
            "customer": customer.pk,
            "reference_id": order.reference_id,
            "status": "shipped",
            "data": '{"items": []}',
        },
    )

    assert response.status_code == 302
    assert Postback.objects.get().order == order


def test_smtp_password_is_never_shown_and_kept_when_left_empty(admin_client):
    settings_row = WorkspaceSettings.load()
    settings_row.smtp_password = "s3cret-password"
    settings_row.save()
    url = reverse("admin:delivery_workspacesettings_change", args=[1])

    assert "s3cret-password" not in admin_client.get(url).content.decode()
    response = admin_client.post(
        url,
        {
            "sender_email": "orders@psp.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": 587,
            "smtp_security": "starttls",
            "smtp_password": "",
        },
    )
    assert response.status_code == 302
    assert WorkspaceSettings.load().smtp_password == "s3cret-password"


def test_api_refuses_anonymous_requests():
    assert APIClient().get("/api/postbacks/").status_code == 401


def test_api_status_change_creates_the_postback(admin_user, receiver):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin_user)}")
    customer = make_customer()
    make_trigger(customer, url=receiver.url())
    order = make_order(customer)

    response = client.patch(f"/api/orders/{order.pk}/", {"status": "shipped"}, format="json")

    assert response.status_code == 200, response.content
    postbacks = client.get("/api/postbacks/").json()["results"]
    assert [p["order_reference"] for p in postbacks] == [order.reference_id]
    bad = client.patch(f"/api/orders/{order.pk}/", {"status": "lost"}, format="json")
    assert bad.status_code == 400
    assert "status" in bad.json()["errors"]
