"""full_sync: 10,000 events from the emulator into PostgreSQL and out to a
client of the sync stream, against fetching and storing them by hand.

Each run starts from calendars that were never synced: their events and
tombstones are deleted and their sync tokens cleared in SQL, so Chronos
makes a real full sync (not a mark-and-sweep resync).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from bench.context import Bench, Person, median_of
from bench.report import Row, within

CALENDARS = 5
EVENTS_PER_CALENDAR = 2000
TARGET_RATIO = 1.5
PAGE_SIZE = 2500

BASELINE_TABLE = """
CREATE TABLE IF NOT EXISTS bench_baseline_event (
    calendar_id integer NOT NULL,
    google_id text NOT NULL,
    etag text NOT NULL,
    resource jsonb NOT NULL,
    PRIMARY KEY (calendar_id, google_id)
)
"""


def dataset(bench: Bench) -> Person:
    """The 10,000-event account, synced once (hydration reads it too)."""
    fresh = "full_sync" not in bench.people
    person = bench.person("full_sync", CALENDARS, EVENTS_PER_CALENDAR)
    if fresh:
        bench.sync(person)
    return person


def reset(bench: Bench, person: Person) -> None:
    with bench.sql() as connection:
        ids = person.calendar_ids
        connection.execute(
            "DELETE FROM calendars_event WHERE calendar_id = ANY(%s)", [ids]
        )
        connection.execute(
            "DELETE FROM calendars_deletedevent WHERE calendar_id = ANY(%s)", [ids]
        )
        connection.execute(
            "UPDATE calendars_syncstate SET sync_token = '', state = 'idle',"
            " full_sync_requested = false, rerun_requested = false"
            " WHERE calendar_id = ANY(%s)",
            [ids],
        )
        # Dead rows of the previous run would otherwise slow later runs.
        connection.execute("VACUUM ANALYZE calendars_event")


def measure_chronos(bench: Bench, person: Person) -> float:
    reset(bench, person)
    seconds, seen, complete = asyncio.run(bench.sync_stream(person))
    expected = CALENDARS * EVENTS_PER_CALENDAR
    if seen < expected:
        raise RuntimeError(
            f"full_sync: the stream carried {seen} event ids, not {expected}"
        )
    return seconds


def fetch_pages(bench: Bench, person: Person) -> list[tuple[int, list[Any]]]:
    """Every page of every calendar, parsed: what a sync must download."""
    token = bench.access_token(person.refresh_token)
    pages = []
    api = f"{bench.services.emulator_url}/calendar/v3/calendars"
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:
        for pk in person.calendar_ids:
            params: dict[str, str | int] = {
                "maxResults": PAGE_SIZE,
                "singleEvents": "false",
            }
            while True:
                url = f"{api}/{person.google_ids[pk]}/events"
                response = client.get(url, params=params, timeout=60)
                response.raise_for_status()
                body = json.loads(response.content)
                pages.append((pk, body["items"]))
                if "nextPageToken" not in body:
                    break
                params = {**params, "pageToken": body["nextPageToken"]}
    return pages


def store_pages(bench: Bench, pages: list[tuple[int, list[Any]]]) -> None:
    """Each page in one transaction: COPY to staging, then one upsert."""
    with bench.sql() as connection:
        connection.autocommit = False
        for pk, items in pages:
            with connection.transaction():
                connection.execute(
                    "CREATE TEMP TABLE bench_staging (LIKE bench_baseline_event)"
                    " ON COMMIT DROP"
                )
                with connection.cursor().copy(
                    "COPY bench_staging (calendar_id, google_id, etag, resource)"
                    " FROM STDIN"
                ) as copy:
                    for item in items:
                        copy.write_row(
                            (pk, item["id"], item.get("etag", ""), json.dumps(item))
                        )
                connection.execute(
                    "INSERT INTO bench_baseline_event SELECT * FROM bench_staging"
                    " ON CONFLICT (calendar_id, google_id) DO UPDATE SET"
                    " etag = EXCLUDED.etag, resource = EXCLUDED.resource"
                )


def measure_baseline(bench: Bench, person: Person) -> float:
    with bench.sql() as connection:
        connection.execute(BASELINE_TABLE)
        connection.execute("TRUNCATE bench_baseline_event")
    started = time.perf_counter()
    pages = fetch_pages(bench, person)
    store_pages(bench, pages)
    seconds = time.perf_counter() - started
    rows = sum(len(items) for _, items in pages)
    if rows != CALENDARS * EVENTS_PER_CALENDAR:
        raise RuntimeError(f"full_sync baseline fetched {rows} events")
    return seconds


def run(bench: Bench) -> list[Row]:
    person = dataset(bench)
    chronos, chronos_runs = median_of(bench, lambda: measure_chronos(bench, person))
    baseline, baseline_runs = median_of(bench, lambda: measure_baseline(bench, person))
    value_ratio = chronos / baseline
    return [
        Row(
            "full_sync",
            "10k events to complete",
            chronos,
            "s",
            baseline,
            target=f"ratio <= {TARGET_RATIO}",
            met=within(value_ratio, TARGET_RATIO),
            details={"runs": chronos_runs, "baseline_runs": baseline_runs},
        )
    ]
