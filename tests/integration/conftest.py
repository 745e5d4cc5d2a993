"""Real processes for integration tests: Celery workers on Redis and
PostgreSQL, talking to an emulator served from the test process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _needs_real_services() -> None:
    assert django_settings.DISTRIBUTED, "integration tests need REDIS_URL"
    assert connection.vendor == "postgresql", "integration tests need PostgreSQL"


@pytest.fixture(autouse=True)
def _empty_broker() -> None:
    redis.Redis.from_url(django_settings.REDIS_URL).flushdb()


class Worker:
    """A Celery worker process for the test database."""

    def __init__(self, environment: dict[str, str], log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "chronos",
                "worker",
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            cwd=PROJECT_DIR,
            env=environment,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker_environment(emulator: Any) -> dict[str, str]:
    database = connection.settings_dict
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PYTEST")
    }
    environment.update(
        DATABASE_URL=(
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}"
            f"/{database['NAME']}"
        ),
        REDIS_URL=django_settings.REDIS_URL,
        GOOGLE_API_URL=django_settings.GOOGLE_API_URL,
        GOOGLE_TOKEN_URL=django_settings.GOOGLE_TOKEN_URL,
        GOOGLE_RETRY_BASE_SECONDS="0.05",
        GOOGLE_RETRY_CAP_SECONDS="0.5",
        SYNC_LEASE_SECONDS="3",
        CELERY_VISIBILITY_TIMEOUT="5",
        CELERY_RESTORE_INTERVAL="1",
        SYNC_COALESCE_SECONDS="0.1",
    )
    return environment


@pytest.fixture
def start_worker(
    worker_environment: dict[str, str], tmp_path: Path
) -> Iterator[Callable[[], Worker]]:
    workers: list[Worker] = []

    def start() -> Worker:
        worker = Worker(worker_environment, tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)
