"""week_page: the week view of 1,000 events over five calendars.

While the week page is not there (no ``templates/calendars/*week*.html``),
the week's events are read from ``GET /api/calendar/events`` with a
one-week window instead, and the row says so.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

import httpx

from bench.context import Bench, Person, median_of
from bench.report import Row, within
from bench.services import PROJECT_DIR

TARGET_MS = 50.0
REQUESTS_PER_RUN = 20


def has_week_page() -> bool:
    return any((PROJECT_DIR / "templates" / "calendars").glob("*week*.html"))


def week_start() -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=today.weekday())


def signed_in(bench: Bench, person: Person) -> httpx.Client:
    client = httpx.Client(base_url=bench.services.web_url, timeout=30)
    login = "/accounts/login/"
    client.get(login).raise_for_status()
    response = client.post(
        login,
        data={
            "username": person.username,
            "password": person.username,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        headers={"Referer": bench.services.web_url + login},
    )
    if "sessionid" not in client.cookies:
        raise RuntimeError(f"signing in failed with {response.status_code}")
    return client


def request_ms(client: httpx.Client, url: str, params: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.get(url, params=params)
    seconds = time.perf_counter() - started
    response.raise_for_status()
    return seconds * 1000


def run(bench: Bench) -> list[Row]:
    person = bench.person("week_page", calendars=5, events=200)
    bench.sync(person)
    start = week_start()
    if has_week_page():
        client = signed_in(bench, person)
        url, figure = "/", "GET /?view=week (signed in)"
        params = {"view": "week", "date": start.date().isoformat()}
        note = ""
    else:
        client = httpx.Client(
            base_url=bench.services.web_url, timeout=30, headers=bench.headers(person)
        )
        url, figure = "/api/calendar/events", "API, one-week window"
        params = {
            "calendar_ids": person.ids_param,
            "time_min": start.isoformat(),
            "time_max": (start + timedelta(days=7)).isoformat(),
        }
        note = "the week page is not there yet; measured the API instead"

    def one_run() -> float:
        return statistics.median(
            request_ms(client, url, params) for _ in range(REQUESTS_PER_RUN)
        )

    try:
        value, runs = median_of(bench, one_run)
    finally:
        client.close()
    return [
        Row(
            "week_page",
            figure,
            value,
            "ms",
            target=f"<= {TARGET_MS:.0f} ms",
            met=within(value, TARGET_MS),
            note=note,
            details={"runs": runs, "requests_per_run": REQUESTS_PER_RUN},
        )
    ]
