"""webhook_storm: 2,000 push notifications over 20 calendars at once.

One event per calendar is changed in the emulator first (its own
notifications go out too), then the storm is sent straight to
``POST /calendar/webhook`` with each channel's real headers, as fast as
the receiver answers. Afterwards: how many syncs ran (``events.list``
calls counted by the emulator) and whether every change was stored.
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


def change_one_event_each(bench: Bench, person: Person) -> dict[str, str]:
    """Patch one event per calendar; the new summary by event id."""
    token = bench.access_token(person.refresh_token)
    api = f"{bench.services.emulator_url}/calendar/v3/calendars"
    expected = {}
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as google:
        for google_id in person.google_ids.values():
            items = google.get(f"{api}/{google_id}/events").json()["items"]
            event_id = next(i["id"] for i in items if not i.get("recurrence"))
            summary = f"storm-{uuid.uuid4().hex}"
            response = google.patch(
                f"{api}/{google_id}/events/{event_id}", json={"summary": summary}
            )
            response.raise_for_status()
            expected[event_id] = summary
    return expected


async def storm(url: str, channels: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """Send the notifications; (status, seconds) of each answer."""
    limit = asyncio.Semaphore(CONCURRENCY)
    numbers = dict.fromkeys((c["id"] for c in channels), 1000)
    answers: list[tuple[int, float]] = []
    limits = httpx.Limits(max_connections=CONCURRENCY)

    async def notify(client: httpx.AsyncClient, channel: dict[str, Any]) -> None:
        numbers[channel["id"]] += 1
        headers = {
            "X-Goog-Channel-ID": channel["id"],
            "X-Goog-Channel-Token": channel["token"],
            "X-Goog-Resource-ID": channel["resource_id"],
            "X-Goog-Resource-URI": channel["resource_uri"],
            "X-Goog-Resource-State": "exists",
            "X-Goog-Message-Number": str(numbers[channel["id"]]),
        }
        async with limit:
            started = time.perf_counter()
            response = await client.post(url, headers=headers)
            answers.append((response.status_code, time.perf_counter() - started))

    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        await asyncio.gather(
            *(
                notify(client, channels[index % len(channels)])
                for index in range(NOTIFICATIONS)
            )
        )
    return answers


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


def lost_changes(person: Person, expected: dict[str, str]) -> int:
    from calendars.models import Event

    stored = dict(
        Event.objects.filter(
            calendar_id__in=person.calendar_ids, google_id__in=expected
        ).values_list("google_id", "summary")
    )
    return sum(1 for key, summary in expected.items() if stored.get(key) != summary)


def run(bench: Bench) -> list[Row]:
    person = bench.person("webhook_storm", CALENDARS, EVENTS_PER_CALENDAR)
    bench.sync(person)
    watched = bench.wait_for_channels(person)
    channels = live_channels(bench, person)
    if watched < CALENDARS or len(channels) < CALENDARS:
        return [unavailable("webhook_storm", f"only {watched} calendars watched")]
    settle(bench, person)

    bench.emulator_call("DELETE", "/_emulator/stats")
    expected = change_one_event_each(bench, person)
    url = f"{bench.services.web_url}/calendar/webhook"
    started = time.perf_counter()
    answers = asyncio.run(storm(url, channels))
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
