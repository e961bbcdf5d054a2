"""Issue 8's operability: probes, metrics, structured logs, production settings."""

import json
import logging
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from customers.events import OrderStatus
from delivery import services
from delivery.receiver import Reply
from delivery.tasks import deliver_postback
from postbacks_site.logs import JsonFormatter

from .factories import make_customer, make_order, make_trigger

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(client, celery_broker):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_readyz_reports_an_unreachable_broker(client, broker_down):
    with broker_down():
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["database"] == "ok"
    assert body["broker"].startswith("error:")


@pytest.fixture
def delivered_and_retrying(receiver, monkeypatch, settings):
    monkeypatch.setattr(deliver_postback, "apply_async", lambda *args, **kwargs: None)
    settings.POSTBACKS_RETRY_SCHEDULE = [600]
    customer = make_customer()
    make_trigger(customer, url=receiver.url())
    receiver.reply_with(200, Reply(503))
    for _ in range(2):
        make_order(customer, status=OrderStatus.SHIPPED)
    for postback_id in sorted(services.Postback.objects.values_list("pk", flat=True)):
        services.deliver(postback_id)


def test_metrics_need_the_token(client, settings):
    settings.POSTBACKS_METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


def test_metrics_report_the_delivery_log(client, settings, delivered_and_retrying):
    settings.POSTBACKS_METRICS_TOKEN = "t"

    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()

    assert 'postbacks_created_total{event="order_shipped"} 2.0' in text
    assert 'postbacks{event="order_shipped",status="delivered"} 1.0' in text
    assert 'postbacks{event="order_shipped",status="retrying"} 1.0' in text
    assert 'postback_attempts_total{event="order_shipped",outcome="success"} 1.0' in text
    assert 'postback_attempts_total{event="order_shipped",outcome="retryable"} 1.0' in text
    assert "postbacks_due 0.0" in text  # the retry is due in ten minutes
    assert 'postback_delivery_latency_seconds_bucket{le="+Inf"} 1.0' in text
    assert 'postback_attempt_duration_seconds_bucket{le="+Inf"} 2.0' in text


def test_attempts_are_logged_as_json_with_their_identity_and_no_secret(
    receiver, monkeypatch, caplog
):
    monkeypatch.setattr(deliver_postback, "apply_async", lambda *args, **kwargs: None)
    customer = make_customer()
    make_trigger(customer, url=receiver.url(), auth_type="bearer", auth_secret="tok-XYZ-secret")
    order = make_order(customer, status=OrderStatus.SHIPPED)
    postback = services.Postback.objects.get()

    with caplog.at_level(logging.INFO, logger="delivery.services"):
        services.deliver(postback.pk)

    (record,) = [r for r in caplog.records if r.name == "delivery.services"]
    entry = json.loads(JsonFormatter().format(record))
    assert entry["postback_id"] == postback.pk
    assert entry["order_reference"] == order.reference_id
    assert entry["trigger_id"] == postback.trigger_id
    assert entry["outcome"] == "success" and entry["response_status"] == 200
    assert "tok-XYZ-secret" not in json.dumps(entry)


def test_check_deploy_passes_with_the_documented_production_environment(tmp_path):
    env = {
        **os.environ,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_HSTS_PRELOAD": "true",
        "ALLOWED_HOSTS": "postbacks.example.com",
        "DATABASE_URL": "sqlite:///" + str(tmp_path / "db.sqlite3"),
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "POSTBACKS_ENCRYPTION_KEYS": "Yl8yf3kgDzaJ9vXvXwGmgqNtJ0l3qPnwf-2sH1o0mTk=",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
