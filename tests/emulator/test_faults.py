"""Injected faults and call statistics from the control API."""

from __future__ import annotations

import time

import pytest
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

from emulator.server import EmulatorServer
from emulator.testing import control


def test_injected_429_raises_http_error_with_its_reason(
    emulator: EmulatorServer, alice: Resource
) -> None:
    control(
        emulator,
        "faults",
        {
            "method": "calendar.events.list",
            "status": 429,
            "reason": "rateLimitExceeded",
        },
    )

    with pytest.raises(HttpError) as caught:
        alice.events().list(calendarId="primary").execute()

    assert caught.value.resp.status == 429
    assert caught.value.error_details[0]["reason"] == "rateLimitExceeded"
    assert alice.events().list(calendarId="primary").execute()["items"] == []


def test_fault_only_hits_its_method(emulator: EmulatorServer, alice: Resource) -> None:
    control(emulator, "faults", {"method": "calendar.events.watch", "status": 503})

    assert alice.calendarList().list().execute()["items"]


def test_fault_without_status_only_slows_the_call(
    emulator: EmulatorServer, alice: Resource
) -> None:
    control(emulator, "faults", {"method": "*", "latency_ms": 200})
    started = time.monotonic()

    alice.events().list(calendarId="primary").execute()

    assert time.monotonic() - started >= 0.2


def test_stats_count_calls_per_method(
    emulator: EmulatorServer, alice: Resource
) -> None:
    alice.events().list(calendarId="primary").execute()
    alice.events().list(calendarId="primary").execute()
    alice.calendarList().list().execute()

    calls = control(emulator, "stats", method="GET")["calls"]

    assert calls == {"calendar.calendarList.list": 1, "calendar.events.list": 2}
