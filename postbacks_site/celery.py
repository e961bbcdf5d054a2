"""The Celery application shared by the web process (which enqueues) and the workers."""

import os

from celery import Celery, signals

from . import broker  # noqa: F401  (registers the localfs:// transport)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postbacks_site.settings")

app = Celery("postbacks")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
def _recycle_old_connections(**kwargs) -> None:
    """Close database connections that broke or outlived CONN_MAX_AGE, as Django does at the
    start of each request; healthy ones are kept for the next task."""
    from django.db import close_old_connections

    close_old_connections()
