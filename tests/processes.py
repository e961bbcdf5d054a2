"""Celery workers in processes of their own, for tests that kill one or race two.

They live in ``postbacks_site.worker_process`` because the benchmark command starts them too.
"""

from postbacks_site.worker_process import WorkerProcess, current_database_url

__all__ = ["WorkerProcess", "current_database_url"]
