"""Chronos served by daphne on the test database, driven by Chromium.

The server runs in embedded mode (no REDIS_URL) against the in-process
Google emulator, and Google's push notifications reach it at its own URL.
Debian's chromium is used as it is; Playwright's own browsers are never
downloaded.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from emulator.server import EmulatorServer

PROJECT_DIR = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PASSWORD = "owner-password"


@pytest.fixture(autouse=True)
def database_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API keeps an event loop running in this thread, and
    # Django refuses database calls next to a running loop; these calls are
    # plain synchronous ones that Playwright does not interleave with.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url() -> str:
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    return (
        f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
        f"{database['PORT']}/{database['NAME']}"
    )


def server_environment(emulator: EmulatorServer, url: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PYTEST") and key != "REDIS_URL"
    }
    environment.update(
        DATABASE_URL=database_url(),
        GOOGLE_API_URL=emulator.url + "calendar/v3/",
        GOOGLE_TOKEN_URL=emulator.url + "token",
        GOOGLE_AUTH_URL=emulator.url + "o/oauth2/auth",
        GOOGLE_RETRY_BASE_SECONDS="0.01",
        GOOGLE_RETRY_CAP_SECONDS="0.05",
        WEBHOOK_BASE_URL=url,
        SYNC_RATE_LIMIT_SECONDS="1",
        SYNC_COALESCE_SECONDS="0.05",
        SSE_KEEPALIVE_SECONDS="5",
        LOG_LEVEL=os.environ.get("BROWSER_SERVER_LOG_LEVEL", "WARNING"),
    )
    return environment


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("daphne exited before it served a request")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"daphne did not answer {url} within {timeout}s")


@pytest.fixture
def live_server_url(
    transactional_db: Any, emulator: EmulatorServer, tmp_path: Path
) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "daphne.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
        + ["chronos.asgi:application"],
        cwd=PROJECT_DIR,
        env=server_environment(emulator, url),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(url + "/healthz", process, timeout=30)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Browser tests need Debian's chromium at /usr/bin/chromium "
            "(apt-get install chromium); `make test` deselects them without it."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, live_server_url: str) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        timezone_id="Europe/Berlin",
        locale="en-GB",
        base_url=live_server_url,
    )
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture
def signed_in(page: Any, owner: User) -> Any:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(owner.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    return page
