"""The Celery application shared by the web process (which enqueues) and the workers."""

import os

from celery import Celery

from . import broker  # noqa: F401  (registers the localfs:// transport)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postbacks_site.settings")

app = Celery("postbacks")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
