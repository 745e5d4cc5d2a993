"""hydration: the stored events of 10,000-event calendars over the API,
against reading the same stored JSON with psycopg."""

from __future__ import annotations

import time

import httpx

from bench.context import Bench, median_of
from bench.metrics.full_sync import dataset
from bench.report import Row, within

TARGET_RATIO = 1.5


def measure_api(
    bench: Bench, url: str, params: dict[str, str], headers: dict[str, str]
) -> tuple[float, float, int]:
    """Seconds to the first and to the last byte, and the bytes read."""
    with httpx.Client(timeout=120) as client:
        started = time.perf_counter()
        first = None
        size = 0
        with client.stream("GET", url, params=params, headers=headers) as response:
            response.raise_for_status()
            for chunk in response.iter_raw():
                if first is None:
                    first = time.perf_counter() - started
                size += len(chunk)
        last = time.perf_counter() - started
    return first or last, last, size


def measure_baseline(bench: Bench, ids: list[int]) -> float:
    with bench.sql() as connection:
        started = time.perf_counter()
        rows = connection.execute(
            "SELECT resource::text FROM calendars_event WHERE calendar_id = ANY(%s)",
            [ids],
        ).fetchall()
        seconds = time.perf_counter() - started
    if not rows:
        raise RuntimeError("hydration baseline read no rows")
    return seconds


def run(bench: Bench) -> list[Row]:
    person = dataset(bench)
    url = f"{bench.services.web_url}/api/calendar/events"
    params = {"calendar_ids": person.ids_param}
    headers = bench.headers(person)
    samples: list[tuple[float, float, int]] = []

    def last_byte() -> float:
        sample = measure_api(bench, url, params, headers)
        samples.append(sample)
        return sample[1]

    total, _ = median_of(bench, last_byte)
    measured = samples[1:]
    first = sorted(sample[0] for sample in measured)[len(measured) // 2]
    baseline, baseline_runs = median_of(
        bench, lambda: measure_baseline(bench, person.calendar_ids)
    )
    details = {"bytes": measured[0][2], "baseline_runs": baseline_runs}
    return [
        Row("hydration", "first byte", first, "s", note=""),
        Row(
            "hydration",
            "last byte",
            total,
            "s",
            baseline,
            target=f"ratio <= {TARGET_RATIO}",
            met=within(total / baseline, TARGET_RATIO),
            details=details,
        ),
    ]
