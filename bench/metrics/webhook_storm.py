"""webhook_storm: 2,000 push notifications over 20 calendars at once.

The storm is sent straight to ``POST /calendar/webhook`` with each
channel's real headers, as fast as the receiver answers. While it lasts,
one event per calendar is changed in the emulator (whose own notifications
join the storm). Afterwards: how many syncs ran (``events.list`` calls
counted by the emulator) and whether every change was stored.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from bench.context import Bench, Person, percentile
from bench.report import Row, unavailable, within

CALENDARS = 20
EVENTS_PER_CALENDAR = 20
NOTIFICATIONS = 2000
CONCURRENCY = 64
SETTLE_TIMEOUT_SECONDS = 120.0
QUIET_SECONDS = 2.0
TARGET_SYNCS_PER_CALENDAR = 2
WEBHOOK_PATH = "/calendar/webhook"
# The changes are made this far into the storm, so they land inside it.
CHANGES_AFTER_SECONDS = 0.5


def live_channels(bench: Bench, person: Person) -> list[dict[str, Any]]:
    watched = set(person.google_ids.values())
    channels = bench.emulator_call("GET", "/_emulator/channels")["channels"]
    return [
        channel
        for channel in channels
        if channel["calendar_id"] in watched
        and not channel["stopped"]
        and not channel["expired"]
    ]


def events_to_change(person: Person) -> dict[int, str]:
    """One single event per calendar, by calendar, read from the database.

    Reading them from Google would count as syncs. Occurrences are left
    out: Google lists a cancelled one without its summary, so a summary
    written there never shows.
    """
    from calendars.models import Event

    chosen = {}
    for pk in person.calendar_ids:
        single = Event.objects.filter(
            calendar_id=pk, recurrence=[], recurring_event_id="", status="confirmed"
        ).first()
        if single is None:
            raise RuntimeError(f"webhook_storm: calendar {pk} has no single event")
        chosen[pk] = single.google_id
    return chosen


def change_events(
    bench: Bench, person: Person, chosen: dict[int, str]
) -> dict[tuple[int, str], str]:
    """Patch the chosen events; the new summary by calendar and event id."""
    token = bench.access_token(person.refresh_token)
    api = f"{bench.services.emulator_url}/calendar/v3/calendars"
    expected = {}
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as google:
        for pk, event_id in chosen.items():
            summary = f"storm-{uuid.uuid4().hex}"
            response = google.patch(
                f"{api}/{person.google_ids[pk]}/events/{event_id}",
                json={"summary": summary},
            )
            response.raise_for_status()
            expected[pk, event_id] = summary
    return expected


def notifications(channels: list[dict[str, Any]]) -> list[bytes]:
    """Every request of the storm, as the bytes Google would send."""
    numbers = dict.fromkeys((channel["id"] for channel in channels), 1000)
    requests = []
    for index in range(NOTIFICATIONS):
        channel = channels[index % len(channels)]
        numbers[channel["id"]] += 1
        headers = {
            "X-Goog-Channel-ID": channel["id"],
            "X-Goog-Channel-Token": channel["token"],
            "X-Goog-Resource-ID": channel["resource_id"],
            "X-Goog-Resource-URI": channel["resource_uri"],
            "X-Goog-Resource-State": "exists",
            "X-Goog-Message-Number": str(numbers[channel["id"]]),
        }
        lines = [f"POST {WEBHOOK_PATH} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += ["Content-Length: 0", "", ""]
        requests.append("\r\n".join(lines).encode())
    return requests


async def storm(port: int, requests: list[bytes]) -> list[tuple[int, float]]:
    """Send the requests over keep-alive connections; (status, seconds) each.

    A raw client, because httpx spends more CPU on a request than the
    receiver does: with it the storm measured the client.
    """
    pending = iter(requests)
    answers: list[tuple[int, float]] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in pending:
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(content_length(head))
                status = int(head.split(b" ", 2)[1])
                answers.append((status, time.perf_counter() - started))
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(CONCURRENCY)))
    return answers


async def storm_with_changes(
    bench: Bench, person: Person, requests: list[bytes], chosen: dict[int, str]
) -> tuple[list[tuple[int, float]], dict[tuple[int, str], str]]:
    """The storm, with the changes made once it is under way."""

    async def changes() -> dict[tuple[int, str], str]:
        await asyncio.sleep(CHANGES_AFTER_SECONDS)
        return await asyncio.to_thread(change_events, bench, person, chosen)

    return await asyncio.gather(storm(bench.services.web_port, requests), changes())


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise RuntimeError("webhook_storm: an answer without Content-Length")


def settle(bench: Bench, person: Person) -> None:
    """Wait until no sync is queued or running and the emulator is quiet."""
    from calendars.models import SyncState

    busy = [SyncState.State.QUEUED, SyncState.State.RUNNING]
    deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
    calls, quiet_since = bench.list_calls(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now_calls = bench.list_calls()
        states = SyncState.objects.filter(calendar_id__in=person.calendar_ids)
        if now_calls != calls or states.filter(state__in=busy).exists():
            calls, quiet_since = now_calls, time.monotonic()
        elif time.monotonic() - quiet_since >= QUIET_SECONDS:
            return
    raise RuntimeError("webhook_storm: syncs did not settle")


def lost_changes(person: Person, expected: dict[tuple[int, str], str]) -> int:
    from calendars.models import Event

    rows = Event.objects.filter(
        calendar_id__in=person.calendar_ids,
        google_id__in=[event_id for _, event_id in expected],
    ).values_list("calendar_id", "google_id", "summary")
    stored = {(pk, event_id): summary for pk, event_id, summary in rows}
    return sum(1 for key, summary in expected.items() if stored.get(key) != summary)


def run(bench: Bench) -> list[Row]:
    person = bench.person("webhook_storm", CALENDARS, EVENTS_PER_CALENDAR)
    bench.sync(person)
    watched = bench.wait_for_channels(person)
    channels = live_channels(bench, person)
    if watched < CALENDARS or len(channels) < CALENDARS:
        return [unavailable("webhook_storm", f"only {watched} calendars watched")]
    settle(bench, person)

    chosen = events_to_change(person)
    requests = notifications(channels)
    bench.emulator_call("DELETE", "/_emulator/stats")
    started = time.perf_counter()
    answers, expected = asyncio.run(storm_with_changes(bench, person, requests, chosen))
    seconds = time.perf_counter() - started
    settle(bench, person)

    accepted = sum(1 for status, _ in answers if status == 200)
    syncs = bench.list_calls()
    per_calendar = syncs / CALENDARS
    lost = lost_changes(person, expected)
    p99 = percentile([answer for _, answer in answers], 0.99) * 1000
    details = {"notifications": NOTIFICATIONS, "accepted": accepted, "syncs": syncs}
    return [
        Row("webhook_storm", "accepted per second", accepted / seconds, "/s"),
        Row("webhook_storm", "p99 answer time", p99, "ms", details=details),
        Row(
            "webhook_storm",
            "syncs per calendar",
            per_calendar,
            "syncs",
            target=f"<= {TARGET_SYNCS_PER_CALENDAR}",
            met=within(per_calendar, TARGET_SYNCS_PER_CALENDAR),
        ),
        Row(
            "webhook_storm",
            "changes lost",
            lost,
            "events",
            target="0",
            met=lost == 0 and accepted == NOTIFICATIONS,
        ),
    ]
