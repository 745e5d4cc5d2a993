"""What every metric works with: the running services, the emulator's
control API, the bench database and the people and calendars in it.

Django is set up in this process with the same environment as the server
and the workers, so fixtures use the project's own commands and models.
ORM calls are made outside any event loop.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from bench.services import Services
from bench.sse_client import read_events

SYNC_TIMEOUT_SECONDS = 300.0


@dataclass
class Person:
    """A Chronos user connected to one emulated Google account."""

    username: str
    email: str
    token: str
    calendar_ids: list[int]
    google_ids: dict[int, str]
    refresh_token: str

    @property
    def ids_param(self) -> str:
        return ",".join(str(pk) for pk in self.calendar_ids)


@dataclass
class Bench:
    services: Services
    runs: int
    people: dict[str, Person] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.emulator = httpx.Client(base_url=self.services.emulator_url, timeout=60)

    # The emulator

    def emulator_call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.emulator.request(method, path, json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def access_token(self, refresh_token: str) -> str:
        response = self.emulator.post(
            "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": "chronos-local-client",
                "client_secret": "chronos-local-secret",
            },
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def list_calls(self) -> int:
        calls = self.emulator_call("GET", "/_emulator/stats")["calls"]
        return int(calls.get("calendar.events.list", 0))

    # People and calendars

    def person(
        self, username: str, calendars: int, events: int, recurring: float = 0.1
    ) -> Person:
        """A user with a freshly seeded, connected (not yet synced) account."""
        if username in self.people:
            return self.people[username]
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        from calendars.models import Calendar

        email = f"{username}@bench.example.com"
        grant = self.emulator_call("POST", "/_emulator/accounts", {"email": email})
        seeded = self.emulator_call(
            "POST",
            "/_emulator/seed",
            {
                "email": email,
                "calendars": calendars,
                "events_per_calendar": events,
                "recurring_share": recurring,
            },
        )["calendars"]
        user = get_user_model().objects.create_user(username, password=username)
        call_command(
            "connect_google_account",
            username,
            "--refresh-token",
            grant["refresh_token"],
            stdout=io.StringIO(),
        )
        out = io.StringIO()
        call_command("create_api_token", username, stdout=out)
        rows = Calendar.objects.filter(account__owner=user, google_id__in=seeded)
        google_ids = dict(rows.values_list("pk", "google_id"))
        person = Person(
            username,
            email,
            out.getvalue().strip(),
            sorted(google_ids),
            google_ids,
            grant["refresh_token"],
        )
        self.people[username] = person
        return person

    def headers(self, person: Person) -> dict[str, str]:
        return {"Authorization": f"Bearer {person.token}"}

    # Syncing through the API, the way a client does

    async def sync_stream(self, person: Person) -> tuple[float, int, dict[str, Any]]:
        """Seconds to ``complete``, distinct event ids seen, the complete data."""
        seen: set[tuple[int, str]] = set()
        url = f"{self.services.web_url}/api/calendar/sync"
        timeout = httpx.Timeout(SYNC_TIMEOUT_SECONDS, connect=10)
        async with httpx.AsyncClient(timeout=timeout) as client:
            started = time.perf_counter()
            async with client.stream(
                "GET",
                url,
                params={"calendar_ids": person.ids_param},
                headers=self.headers(person),
            ) as response:
                response.raise_for_status()
                async for message in read_events(response):
                    data = json.loads(message.data)
                    if message.event == "events":
                        calendar = data["calendar_id"]
                        seen.update((calendar, e["id"]) for e in data["events"])
                    elif message.event == "sync_error":
                        raise RuntimeError(f"sync failed: {data}")
                    elif message.event == "complete":
                        return time.perf_counter() - started, len(seen), data
        raise RuntimeError("the sync stream ended without complete")

    def sync(self, person: Person) -> float:
        seconds, _, _ = asyncio.run(self.sync_stream(person))
        return seconds

    def wait_for_channels(self, person: Person, timeout: float = 60) -> int:
        """Wait until every calendar has an active watch channel."""
        from calendars.models import WatchChannel

        def count() -> int:
            return (
                WatchChannel.objects.filter(
                    calendar_id__in=person.calendar_ids,
                    state=WatchChannel.State.ACTIVE,
                )
                .values("calendar_id")
                .distinct()
                .count()
            )

        deadline = time.monotonic() + timeout
        while (found := count()) < len(person.calendar_ids):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        return found

    # The database, directly

    def sql(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.services.database_url, autocommit=True)


def median_of(
    bench: Bench, measure: Callable[[], float], warmup: int = 1
) -> tuple[float, list[float]]:
    """Median of ``bench.runs`` measurements after ``warmup`` discarded ones."""
    for _ in range(warmup):
        measure()
    samples = [measure() for _ in range(bench.runs)]
    return statistics.median(samples), samples


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


def configure_django(services: Services) -> None:
    os.environ.update(services.environment())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chronos.settings")
    import django

    django.setup()
