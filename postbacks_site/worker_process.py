"""Celery workers in processes of their own, for the tests that kill or race them and for the
benchmark that measures them.

Both need the same thing: a real ``celery worker`` on the database and broker this process
uses (the test database under pytest), started and known to be consuming before going on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.db import connection


def current_database_url() -> str:
    """DATABASE_URL naming the database this process uses (under pytest, the test one)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def celery_worker_command(*options: str) -> list[str]:
    """The command line of a Celery worker of this project, logging at INFO."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "postbacks_site",
        "worker",
        "--loglevel=INFO",
        *options,
    ]


class WorkerProcess:
    """``celery worker`` in a subprocess on this process's database and broker.

    ``extra_args`` go to ``celery worker`` as they are (a queue, a module to include, a
    prefetch multiplier); ``env`` adds or overrides environment variables.
    """

    def __init__(
        self,
        log_path: Path,
        *,
        pool: str = "threads",
        concurrency: int = 2,
        extra_args: Sequence[str] = (),
        **env: str,
    ) -> None:
        self.log_path = log_path
        self.pool = pool
        self.concurrency = concurrency
        self.extra_args = list(extra_args)
        self.env = {
            **os.environ,
            "DATABASE_URL": current_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> WorkerProcess:
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            celery_worker_command(
                f"--pool={self.pool}",
                f"--concurrency={self.concurrency}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--hostname",
                f"{self.log_path.stem}@%h",
                *self.extra_args,
            ),
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while " ready." not in self.log_path.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"worker did not start:\n{self.log_path.read_text()}")
            time.sleep(0.1)
        return self

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-task, as in a crash or an OOM kill."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def __exit__(self, *exc_info: object) -> None:
        """Warm shutdown (SIGTERM: finish the tasks in hand), a kill if that takes too long."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
