"""Real processes for integration tests: Celery workers on Redis and
PostgreSQL, talking to an emulator served from the test process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from django.conf import settings as django_settings
from django.db import connection

from emulator.server import EmulatorServer

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


def database_url(application_name: str = "") -> str:
    """The test database, optionally tagged so a test can find the process's
    connections in ``pg_stat_activity``."""
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}"
        f"/{database['NAME']}"
    )
    return f"{url}?application_name={application_name}" if application_name else url


@pytest.fixture
def worker_environment(emulator: Any) -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PYTEST")
    }
    environment.update(
        DATABASE_URL=database_url(application_name="chronos-worker"),
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class RedisServer:
    """A private redis-server that a test may kill and start again.

    Like the one in docker-compose it keeps nothing on disk, so a restart
    loses every key and queued message.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(self.answers, timeout=15, what="redis-server to answer")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            _stop_process(self.process)

    def answers(self) -> bool:
        client = redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def production_server_command(port: int) -> list[str]:
    """The web command of docker-compose.yml, on loopback at ``port``."""
    compose = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())
    command = list(compose["services"]["web"]["command"])
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    command[command.index("--forwarded-allow-ips") + 1] = "127.0.0.1"
    program = command.pop(0)
    return [sys.executable, "-m", program, *command]


class WebServer:
    """Chronos served as docker compose serves it, on the test database."""

    def __init__(self, environment: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            production_server_command(self.port),
            cwd=PROJECT_DIR,
            env=environment,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_until(self.answers, timeout=30, what="the web server to answer")

    def answers(self) -> bool:
        assert self.process.poll() is None, "the web server exited early"
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        _stop_process(self.process)


@pytest.fixture
def web_environment(
    emulator: EmulatorServer, worker_environment: dict[str, str]
) -> dict[str, str]:
    environment = dict(worker_environment)
    environment.update(
        DATABASE_URL=database_url(application_name="chronos-web"),
        SYNC_RATE_LIMIT_SECONDS="0",
        SSE_KEEPALIVE_SECONDS="1",
    )
    return environment


@pytest.fixture
def start_web(
    web_environment: dict[str, str], tmp_path: Path
) -> Iterator[Callable[[], WebServer]]:
    servers: list[WebServer] = []

    def start() -> WebServer:
        server = WebServer(web_environment, tmp_path / f"web-{len(servers)}.log")
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
