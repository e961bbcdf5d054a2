"""Fixtures that run the real parts: a Celery worker, a webhook receiver on loopback, a CA.

The broker is whatever the settings say (Redis in CI, kombu's filesystem transport on the
embedded default); the filesystem broker gets a folder of its own, so a running ``serve``
and the tests never take each other's messages.
"""

import os
import ssl
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import trustme
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections

from delivery.receiver import WebhookReceiver
from postbacks_site.celery import app as celery_app

from .api_clients import token_client, user_with_permissions


def _filesystem_broker() -> bool:
    return celery_app.conf.broker_url.startswith(("localfs://", "filesystem://"))


def _purge_queue() -> None:
    # Messages left by an interrupted run, or by a test's retries, name postbacks that belong
    # to another test's database rows.
    celery_app.control.purge()


@pytest.fixture(scope="session")
def celery_broker(tmp_path_factory):
    if _filesystem_broker():
        folder = tmp_path_factory.mktemp("broker")
        for name in ("queue", "control"):
            (folder / name).mkdir()
        os.environ["CELERY_FILESYSTEM_DIR"] = str(folder)  # for worker subprocesses
        celery_app.conf.broker_transport_options = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
            "polling_interval": 0.05,
        }
    _purge_queue()
    return celery_app


def _close_worker_connections(**kwargs) -> None:
    # The worker's threads must not keep connections open, or the test database cannot be
    # flushed and dropped at the end.
    connections.close_all()


@pytest.fixture
def celery_worker(transactional_db, celery_broker):
    """A real Celery worker (two threads) consuming from the configured broker."""
    task_postrun.connect(_close_worker_connections, weak=False)
    try:
        with start_worker(
            celery_broker,
            pool="threads",
            concurrency=2,
            perform_ping_check=False,
            shutdown_timeout=30,
            loglevel="WARNING",
        ) as worker:
            yield worker
    finally:
        task_postrun.disconnect(_close_worker_connections)
        _purge_queue()


@pytest.fixture
def broker_down(celery_broker):
    """A context manager during which publishing fails for real (nothing listens at the
    broker address it is pointed at), while the workers keep consuming from the real broker."""

    def point_producers_at(url: str | None) -> None:
        celery_broker.conf.broker_write_url = url
        celery_broker.amqp._producer_pool = None

    @contextmanager
    def down():
        point_producers_at("redis://127.0.0.1:9/0")
        try:
            yield
        finally:
            point_producers_at(None)

    return down


@pytest.fixture
def receiver():
    """A real HTTP server on 127.0.0.1 that records what it receives."""
    with WebhookReceiver() as webhook_receiver:
        yield webhook_receiver


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory):
    """A throwaway CA, its certificate in a PEM file (for POSTBACKS_SMTP_CA_FILE), and a
    server TLS context for 127.0.0.1 signed by it: what a PSP's private CA looks like."""
    ca = trustme.CA()
    ca_file = tmp_path_factory.mktemp("ca") / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    return SimpleNamespace(ca_file=str(ca_file), server_context=server_context)


@pytest.fixture
def trust_test_ca(settings, test_ca):
    settings.POSTBACKS_SMTP_CA_FILE = test_ca.ca_file
    return test_ca


@pytest.fixture
def quiet_broker(celery_broker):
    """For tests that queue deliveries with no worker to take them: the messages go to the
    test broker and are purged afterwards, so no later test's worker delivers them."""
    yield celery_broker
    _purge_queue()


@pytest.fixture
def staff_api(db):
    """An integration's token whose user holds every model permission of the project."""
    return token_client(user_with_permissions("staff", ("view", "add", "change", "delete")))


@pytest.fixture
def readonly_api(db):
    """A token whose user may only view: the read-only role."""
    return token_client(user_with_permissions("reader", ("view",)))


class Published(list):
    """(postback id, manual) for each message published, and the queue of each."""

    def __init__(self) -> None:
        super().__init__()
        self.queues: list[str] = []


@pytest.fixture
def published(monkeypatch):
    """Messages published to the broker (recorded here instead of sent)."""
    from delivery.tasks import deliver_postback

    record = Published()

    def apply_async(args, kwargs, **options):
        record.append((args[0], kwargs["manual"]))
        record.queues.append(options["queue"])

    monkeypatch.setattr(deliver_postback, "apply_async", apply_async)
    return record
