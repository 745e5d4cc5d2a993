"""The processes a benchmark run needs, started with one environment and
always stopped, whatever happened in between.

Every process gets its own session so that stopping it also stops whatever
it started (Celery's children, daphne's threads hold no children, but the
rule costs nothing).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from cryptography.fernet import Fernet

logger = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOG_DIR = PROJECT_DIR / "bench" / "logs"
BIN_DIR = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/chronos_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
READY_TIMEOUT_SECONDS = 60.0
# What docker compose serves Chronos with; the targets are measured on it.
PRODUCTION_SERVER = "uvicorn"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"process {pid} has no VmRSS; has it exited?")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.popen.returncode}; see {self.log}"
            )

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


@dataclass
class Services:
    """The emulator, the web server and the workers of one benchmark run."""

    database_url: str
    redis_url: str
    emulator_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    processes: list[Process] = field(default_factory=list)
    web: Process | None = None

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def environment(self) -> dict[str, str]:
        """What the server, the workers and this process all run with."""
        environment = dict(os.environ)
        environment.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            GOOGLE_API_URL=f"{self.emulator_url}/calendar/v3/",
            GOOGLE_TOKEN_URL=f"{self.emulator_url}/token",
            GOOGLE_AUTH_URL=f"{self.emulator_url}/o/oauth2/auth",
            WEBHOOK_BASE_URL=self.web_url,
            # Production settings, but over plain HTTP on loopback.
            DEBUG="false",
            SECRET_KEY=environment.get("SECRET_KEY", "chronos-bench-" + "x" * 40),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            TOKEN_ENCRYPTION_KEYS=_bench_fernet_key(),
            SESSION_COOKIE_SECURE="false",
            CSRF_COOKIE_SECURE="false",
            SECURE_SSL_REDIRECT="false",
            # The benchmark starts syncs back to back on purpose.
            SYNC_RATE_LIMIT_SECONDS="0",
            LOG_LEVEL=environment.get("BENCH_LOG_LEVEL", "WARNING"),
            PYTHONUNBUFFERED="1",
            # daphne's script would otherwise import the installed package.
            PYTHONPATH=str(PROJECT_DIR),
        )
        return environment

    def start(self, name: str, command: list[str]) -> Process:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = LOG_DIR / f"{name}.log"
        popen = subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def stop(self, process: Process) -> None:
        process.stop()
        if process in self.processes:
            self.processes.remove(process)

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            try:
                process.stop()
            except Exception:
                logger.exception("Stopping %s failed", process.name)
        self.processes.clear()

    def start_emulator(self) -> Process:
        process = self.start(
            "emulator",
            [
                sys.executable,
                "manage.py",
                "googleemulator",
                "--port",
                str(self.emulator_port),
            ],
        )
        wait_for_http(f"{self.emulator_url}/_emulator/stats", process)
        return process

    def start_server(self, kind: str, app: str, port: int, name: str) -> Process:
        """daphne or uvicorn serving ``app`` on ``port``, once it answers."""
        if kind == "daphne":
            command = [
                str(BIN_DIR / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                app,
            ]
        else:
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                app,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
            ]
        process = self.start(name, command)
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
        return process

    def start_web(self) -> Process:
        self.web = self.start_server(
            PRODUCTION_SERVER, "chronos.asgi:application", self.web_port, "web"
        )
        return self.web

    def start_workers(self, count: int = 2) -> list[Process]:
        return [
            self.start(
                f"worker-{index}",
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "chronos",
                    "worker",
                    "--pool",
                    "solo",
                    "--hostname",
                    f"bench{index}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel",
                    "WARNING",
                ],
            )
            for index in range(count)
        ]


def _bench_fernet_key() -> str:
    # One key per run is enough: the bench database is made anew each run.
    key = os.environ.get("BENCH_FERNET_KEY")
    if key is None:
        key = Fernet.generate_key().decode()
        os.environ["BENCH_FERNET_KEY"] = key
    return key


def wait_for_http(url: str, process: Process) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        process.check_alive()
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{process.name} did not answer {url}; see {process.log}")


def recreate_database(database_url: str) -> None:
    """Drop and create the bench database, so every run starts empty."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise ValueError(f"Refusing an unusual database name {name!r}.")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


@contextlib.contextmanager
def running(services: Services) -> Iterator[Services]:
    """Stop every process on the way out, also on Ctrl-C or SIGTERM."""

    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield services
    finally:
        services.stop_all()
        signal.signal(signal.SIGTERM, previous)
