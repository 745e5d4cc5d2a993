"""A sync on a real worker reaches a streaming client through Redis."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async

from calendars.models import Event
from emulator.testing import control
from syncengine import publish
from syncengine.accounts import discover_calendars
from syncengine.relay import stop_hub
from tests.asgi import get
from tests.googleside import OWNER_EMAIL

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def stored_events(calendar_ids: list[int]) -> set[tuple[int, str]]:
    rows = Event.objects.filter(calendar_id__in=calendar_ids)
    return set(rows.values_list("calendar_id", "google_id"))


@pytest.fixture
def three_calendars(emulator, connected):
    seeded = control(
        emulator,
        "seed",
        {"email": OWNER_EMAIL, "calendars": 3, "events_per_calendar": 900},
    )
    discover_calendars(connected)
    return list(
        connected.calendars.filter(google_id__in=seeded["calendars"]).values_list(
            "pk", flat=True
        )
    )


async def test_a_sync_of_three_calendars_arrives_in_full_on_the_stream(
    three_calendars, owner_auth, start_worker
):
    start_worker()
    ids = ",".join(str(pk) for pk in three_calendars)

    try:
        response = await get("/api/calendar/sync", f"calendar_ids={ids}", **owner_auth)
        messages = await response.messages_until("complete", timeout=60)
        stored = await sync_to_async(stored_events)(three_calendars)
    finally:
        await stop_hub()

    received = {
        (message.json["calendar_id"], event["id"])
        for message in messages
        if message.event == "events"
        for event in message.json["events"]
    }
    assert len(stored) >= 2700
    assert received == stored
    assert messages[-1].json["total_events"] == len(stored)
    tokens = {m.json["calendar_id"] for m in messages if m.event == "sync_token"}
    assert tokens == set(three_calendars)


def test_changes_stay_within_their_redis_database(settings: Any) -> None:
    """Two installations sharing a Redis server, one database each."""
    neighbour_url = settings.REDIS_URL.rsplit("/", 1)[0] + "/15"
    ours, theirs = publish.channel(), f"{publish.CHANNEL_PREFIX}:15"
    listener = redis.Redis.from_url(settings.REDIS_URL).pubsub()
    listener.subscribe(ours, theirs)
    listener.get_message(timeout=1)
    listener.get_message(timeout=1)

    publish.send("events 1 7 0\n{}")
    settings.REDIS_URL = neighbour_url
    publish.send("events 1 8 0\n{}")

    heard = [listener.get_message(timeout=2) for _ in range(2)]
    listener.close()
    assert [(m["channel"], m["data"]) for m in heard if m] == [
        (ours.encode(), b"events 1 7 0\n{}"),
        (theirs.encode(), b"events 1 8 0\n{}"),
    ]
