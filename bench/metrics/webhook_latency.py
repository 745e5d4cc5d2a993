"""webhook_latency: an event changed at Google until an open page has it.

The path measured: a PATCH to the emulator's Calendar API, its push
notification to ``POST /calendar/webhook`` on the production server, the sync task on a
worker, the database, the relay and a client of ``GET /api/stream``.
Changes are made one at a time, each half a second after the previous one
arrived: further apart than ``SYNC_COALESCE_SECONDS``, so none is held back
as part of a burst.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from bench.context import Bench, Person, percentile
from bench.metrics.streams import (
    HeldConnections,
    audience,
    check_streams_scale,
    open_streams,
    serving,
)
from bench.report import Row, unavailable, within
from bench.services import PRODUCTION_SERVER
from bench.sse_client import close_pools

CHANGES = 100
WARMUP_CHANGES = 5
OTHER_STREAMS = 1000
ARRIVAL_TIMEOUT_SECONDS = 15.0
PAUSE_SECONDS = 0.5
MARKER_LENGTH = len("latency-") + 32
TARGET_P50_MS = 30.0
TARGET_P99_MS = 100.0


class LiveClient:
    """One live stream, noting when each marker first shows up in it."""

    def __init__(self, bench: Bench, person: Person) -> None:
        self.url = f"{bench.services.web_url}/api/stream"
        self.headers = bench.headers(person)
        self.arrived: dict[str, float] = {}
        self.waiting: dict[str, asyncio.Event] = {}
        self.ready = asyncio.Event()

    async def listen(self) -> None:
        timeout = httpx.Timeout(None, connect=10)
        async with (
            httpx.AsyncClient(timeout=timeout) as client,
            client.stream("GET", self.url, headers=self.headers) as response,
        ):
            response.raise_for_status()
            self.ready.set()
            tail = ""
            async for chunk in response.aiter_bytes():
                now = time.monotonic()
                # A marker may be split between two chunks.
                text = tail + chunk.decode(errors="replace")
                tail = text[-MARKER_LENGTH:]
                for marker, event in self.waiting.items():
                    if marker not in self.arrived and marker in text:
                        self.arrived[marker] = now
                        event.set()

    async def wait_for(self, marker: str) -> float:
        await asyncio.wait_for(self.waiting[marker].wait(), ARRIVAL_TIMEOUT_SECONDS)
        return self.arrived[marker]


def event_ids(bench: Bench, person: Person, token: str) -> list[str]:
    """Single (not recurring) events of the person's calendar.

    Occurrences of a series are left out: a cancelled one is listed by
    Google without its summary, so a marker put there would never show.
    """
    google_id = person.google_ids[person.calendar_ids[0]]
    url = f"{bench.services.emulator_url}/calendar/v3/calendars/{google_id}/events"
    response = httpx.get(
        url,
        params={"maxResults": 2500},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()
    items = response.json()["items"]
    return [
        item["id"]
        for item in items
        if not item.get("recurrence") and not item.get("recurringEventId")
    ]


async def measure(bench: Bench, person: Person, changes: int) -> list[float]:
    token = bench.access_token(person.refresh_token)
    ids = event_ids(bench, person, token)
    google_id = person.google_ids[person.calendar_ids[0]]
    base = f"{bench.services.emulator_url}/calendar/v3/calendars/{google_id}/events"
    live = LiveClient(bench, person)
    listener = asyncio.create_task(live.listen())
    latencies = []
    try:
        await asyncio.wait_for(live.ready.wait(), 30)
        async with httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as google:
            for index in range(changes):
                marker = f"latency-{uuid.uuid4().hex}"
                live.waiting[marker] = asyncio.Event()
                event_id = ids[index % len(ids)]
                started = time.monotonic()
                response = await google.patch(
                    f"{base}/{event_id}", json={"summary": marker}
                )
                response.raise_for_status()
                arrived = await live.wait_for(marker)
                latencies.append((arrived - started) * 1000)
                await asyncio.sleep(PAUSE_SECONDS)
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
    return latencies


def latency_rows(figure: str, samples: list[float], targeted: bool) -> list[Row]:
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    details = {"changes": len(samples), "max_ms": max(samples)}
    return [
        Row(
            "webhook_latency",
            f"p50 {figure}",
            p50,
            "ms",
            target=f"<= {TARGET_P50_MS:.0f} ms" if targeted else "",
            met=within(p50, TARGET_P50_MS) if targeted else None,
            details=details,
        ),
        Row(
            "webhook_latency",
            f"p99 {figure}",
            p99,
            "ms",
            target=f"<= {TARGET_P99_MS:.0f} ms" if targeted else "",
            met=within(p99, TARGET_P99_MS) if targeted else None,
        ),
    ]


def loaded_rows(bench: Bench, person: Person) -> list[Row]:
    """The same with other people's idle streams open on the server."""
    audience(bench)
    with serving(bench, "chronos", PRODUCTION_SERVER) as server:
        try:
            check_streams_scale(bench, server)
        except HeldConnections as error:
            reason = f"{OTHER_STREAMS} other streams cannot be opened: {error}"
            return [unavailable("webhook_latency", reason)]
        pools = open_streams(bench, server, OTHER_STREAMS)
        try:
            samples = asyncio.run(measure(bench, person, CHANGES))
        finally:
            close_pools(pools)
    return latency_rows(f"with {OTHER_STREAMS} streams", samples, targeted=False)


def run(bench: Bench) -> list[Row]:
    person = bench.person("webhook_latency", calendars=1, events=100)
    bench.sync(person)
    if bench.wait_for_channels(person) < len(person.calendar_ids):
        return [unavailable("webhook_latency", "the calendar got no watch channel")]
    asyncio.run(measure(bench, person, WARMUP_CHANGES))
    samples = asyncio.run(measure(bench, person, CHANGES))
    return [
        *latency_rows("idle", samples, targeted=True),
        *loaded_rows(bench, person),
    ]
