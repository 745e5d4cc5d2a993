"""What fanout and idle_streams share: the servers under test, many open
streams and a batch published the way workers publish one.

Four servers are compared: Chronos and the raw ASGI baseline
(``bench.raw_sse``), each on uvicorn (what production runs) and on daphne.
Only one of them has streams open at a time.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis

from bench.context import Bench, Person
from bench.services import PRODUCTION_SERVER, Process, free_port
from bench.sse_client import StreamPool, close_pools, open_pools

STREAMS_PER_CLIENT = 1000
WAIT_SECONDS = 20.0
PROBE_STREAMS = 20
# What Chronos is measured at when it cannot hold thousands of streams.
FALLBACK_STREAMS = 50


@dataclass
class Server:
    """One web server under test: what it serves and where."""

    kind: str
    app: str
    url: str
    path: str
    process: Process

    @property
    def label(self) -> str:
        name = "chronos" if self.app.startswith("chronos") else "raw"
        return f"{name}/{self.kind}"


APPS = {"chronos": "chronos.asgi:application", "raw": "bench.raw_sse:application"}
PATHS = {"chronos": "/api/stream", "raw": "/stream"}


@contextlib.contextmanager
def serving(
    bench: Bench, app: str, kind: str, *, fresh: bool = False
) -> Iterator[Server]:
    """The app on the server kind; the main server is reused unless ``fresh``.

    Memory is measured on a fresh server: one that has served thousands of
    streams before keeps their memory and would hardly grow again.
    """
    services = bench.services
    reusable = app == "chronos" and kind == PRODUCTION_SERVER and not fresh
    if reusable and services.web is not None:
        yield Server(kind, APPS[app], services.web_url, PATHS[app], services.web)
        return
    port = free_port()
    process = services.start_server(kind, APPS[app], port, f"{app}-{kind}")
    try:
        yield Server(kind, APPS[app], f"http://127.0.0.1:{port}", PATHS[app], process)
    finally:
        services.stop(process)


def audience(bench: Bench) -> Person:
    """The user whose live streams receive the published batches."""
    return bench.person("streams", calendars=1, events=10)


def open_streams(bench: Bench, server: Server, count: int) -> list[StreamPool]:
    person = audience(bench)
    pools = open_pools(server.url, server.path, person.token, count, STREAMS_PER_CLIENT)
    opened = sum(pool.opened["opened"] for pool in pools if pool.opened)
    if opened < count:
        close_pools(pools)
        raise RuntimeError(
            f"{server.label}: only {opened} of {count} streams opened; "
            f"see {server.process.log}"
        )
    return pools


class HeldConnections(Exception):
    """Each open stream holds a database connection; many would exhaust it."""


def database_connections(bench: Bench) -> int:
    with bench.sql() as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def check_streams_scale(bench: Bench, server: Server) -> None:
    """Refuse to open thousands of streams that would each hold a
    PostgreSQL connection: they would fail past ``max_connections`` and
    take the server's connections from everyone else using it."""
    before = database_connections(bench)
    pools = open_streams(bench, server, PROBE_STREAMS)
    try:
        time.sleep(0.5)
        held = database_connections(bench) - before
    finally:
        close_pools(pools)
    if held >= PROBE_STREAMS // 2:
        raise HeldConnections(
            f"{PROBE_STREAMS} open streams on {server.label} held {held} more "
            "PostgreSQL connections; each live stream keeps one for its lifetime"
        )


def take_cursor(bench: Bench) -> int:
    """A real change cursor, so the hub relays the batch at once."""
    with bench.sql() as connection:
        row = connection.execute(
            "INSERT INTO calendars_changecounter (id, value) VALUES (1, 1)"
            " ON CONFLICT (id) DO UPDATE"
            " SET value = calendars_changecounter.value + 1 RETURNING value"
        ).fetchone()
    assert row is not None
    return int(row[0])


def fan_out(bench: Bench, pools: list[StreamPool], size: int) -> dict[str, float]:
    """Seconds from publishing one batch until every stream has it."""
    sent_at = _publish_armed(bench, pools, size)
    replies = [pool.wait(WAIT_SECONDS) for pool in pools]
    seen = sum(reply["seen"] for reply in replies)
    expected = sum(pool.count for pool in pools)
    if seen < expected:
        raise RuntimeError(f"only {seen} of {expected} streams got the batch")
    last = max(reply["last"] for reply in replies)
    return {
        "seconds": last - sent_at,
        "client_cpu": sum(reply["cpu_seconds"] for reply in replies),
    }


def _publish_armed(bench: Bench, pools: list[StreamPool], size: int) -> float:
    """Arm the pools with a new marker, publish a batch of about ``size``
    bytes carrying it, the way a worker does; return when it was sent."""
    from syncengine import publish

    person = audience(bench)
    calendar_id = person.calendar_ids[0]
    marker = f"bench-{uuid.uuid4().hex}"
    for pool in pools:
        pool.arm(marker)
    event = {"id": marker, "summary": "Fanout", "description": ""}
    data: dict[str, Any] = {
        "type": "events",
        "calendar_id": calendar_id,
        "events": [event],
    }
    overhead = len(publish.encode("events", calendar_id, 0, data, 1))
    event["description"] = "x" * max(0, size - overhead)
    message = publish.encode("events", calendar_id, take_cursor(bench), data, 1)
    client = redis.Redis.from_url(bench.services.redis_url)
    sent_at = time.monotonic()
    client.publish(publish.channel(), message)
    return sent_at
