"""hydration: the stored events of 10,000-event calendars over the API,
against reading the same stored JSON with psycopg."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlencode, urlsplit

from bench.context import Bench, median_of
from bench.metrics.full_sync import dataset
from bench.report import Row, within

TARGET_RATIO = 1.5


def measure_api(
    bench: Bench, url: str, params: dict[str, str], headers: dict[str, str]
) -> tuple[float, float, int]:
    """Seconds to the first and to the last byte, and the bytes read.

    A plain socket reads the answer: httpx's parsing of a 14 MB chunked
    body cost several percent of the whole, and is the client's work, not
    the server's. The answer is still checked to be complete.
    """
    address = urlsplit(url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    lines = [
        f"GET {address.path}?{urlencode(params)} HTTP/1.1",
        f"Host: {host}:{port}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    buffer = bytearray(1 << 20)
    first = None
    size = 0
    head = tail = b""
    started = time.perf_counter()
    with socket.create_connection((host, port), timeout=120) as connection:
        connection.sendall(request)
        while read := connection.recv_into(buffer):
            if first is None:
                first = time.perf_counter() - started
                head = bytes(buffer[:12])
            size += read
            tail = (tail + bytes(buffer[max(0, read - 5) : read]))[-5:]
    last = time.perf_counter() - started
    if not head.startswith(b"HTTP/1.1 200") or tail != b"0\r\n\r\n":
        raise RuntimeError(f"hydration: an incomplete answer ({head!r}...{tail!r})")
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
