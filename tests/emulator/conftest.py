"""An emulator per test, with Alice (who owns calendars) and Mallory (who
must never see them), both driven through Google's own client library."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from googleapiclient.discovery import Resource

from emulator.notify import Notifier
from emulator.server import EmulatorServer
from emulator.testing import calendar_service, control

ALICE = "alice@example.com"
MALLORY = "mallory@example.com"


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    server = EmulatorServer(notifier=Notifier(backoff_s=0.05, timeout_s=2))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def alice_token(emulator: EmulatorServer) -> str:
    answer = control(emulator, "accounts", {"email": ALICE})
    return str(answer["refresh_token"])


@pytest.fixture
def alice(emulator: EmulatorServer, alice_token: str) -> Resource:
    return calendar_service(emulator, alice_token)


@pytest.fixture
def mallory(emulator: EmulatorServer) -> Resource:
    answer = control(emulator, "accounts", {"email": MALLORY})
    return calendar_service(emulator, answer["refresh_token"])


def timed_event(summary: str, start: str, end: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "start": {"dateTime": start, "timeZone": "Europe/Berlin"},
        "end": {"dateTime": end, "timeZone": "Europe/Berlin"},
    }


def weekly_series(summary: str = "Weekly sync") -> dict[str, Any]:
    body = timed_event(
        summary, "2026-12-03T10:00:00+01:00", "2026-12-03T10:30:00+01:00"
    )
    body["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=6"]
    return body


def full_sync(service: Resource, calendar_id: str = "primary") -> tuple[list[Any], str]:
    """Every event on every page, and the sync token of the last page."""
    items: list[Any] = []
    page_token = None
    while True:
        page = (
            service.events()
            .list(calendarId=calendar_id, pageToken=page_token, maxResults=2500)
            .execute()
        )
        items.extend(page["items"])
        page_token = page.get("nextPageToken")
        if page_token is None:
            return items, page["nextSyncToken"]


@dataclass
class Receiver:
    """A webhook endpoint recording the headers of every POST it gets."""

    url: str
    messages: queue.Queue[dict[str, str]]
    statuses: list[int] = field(default_factory=list)

    def next(self, timeout: float = 3) -> dict[str, str]:
        return self.messages.get(timeout=timeout)

    def silent_for(self, seconds: float) -> bool:
        try:
            self.messages.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    messages: queue.Queue[dict[str, str]] = queue.Queue()
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            status = statuses.pop(0) if statuses else 200
            if status == 200:
                messages.put({k.lower(): v for k, v in self.headers.items()})
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    port = httpd.server_address[1]
    try:
        yield Receiver(f"http://127.0.0.1:{port}/hook", messages, statuses)
    finally:
        httpd.shutdown()
        httpd.server_close()
