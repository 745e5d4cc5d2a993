"""The live stream: every stored change, live, resumable without gaps."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from syncengine import publish
from syncengine.relay import get_hub
from syncengine.sync import sync_calendar
from tests.asgi import SseMessage, get
from tests.googleside import timed

pytestmark = pytest.mark.django_db(transaction=True)


def insert(google, calendar, summary: str, day: int = 1) -> str:
    start = f"2026-12-{day:02d}T09:00:00Z"
    body = timed(summary, start, start)
    created = google.events().insert(calendarId=calendar.google_id, body=body)
    return str(created.execute()["id"])


async def synced(calendar) -> None:
    await sync_to_async(sync_calendar)(calendar.pk)


async def open_stream(**headers):
    """A live stream, once it has subscribed (its first frame says so)."""
    response = await get("/api/stream", **headers)
    first = await response.next_message()
    assert first.event == "retry"
    return response


async def next_batch(response):
    while True:
        message = await response.next_message()
        if message.event == "events":
            return message


async def test_a_change_stored_by_any_sync_arrives_on_the_open_stream(
    google, primary, owner_auth
):
    response = await open_stream(**owner_auth)
    insert(google, primary, "Dentist")

    await synced(primary)
    batch = await next_batch(response)

    assert batch.json["calendar_id"] == primary.pk
    assert [event["summary"] for event in batch.json["events"]] == ["Dentist"]
    assert int(batch.id) > 0
    await response.disconnect()


async def test_sync_state_changes_arrive_as_sync_status(google, primary, owner_auth):
    response = await open_stream(**owner_auth)

    await synced(primary)
    statuses: list[SseMessage] = []
    while len(statuses) < 2:
        message = await response.next_message()
        if message.event == "sync_status":
            statuses.append(message)

    assert [status.json["state"] for status in statuses] == ["running", "idle"]
    assert all(status.id is None for status in statuses)
    assert statuses[-1].json["last_sync_at"]
    await response.disconnect()


async def test_reconnecting_with_last_event_id_replays_each_missed_batch_once(
    google, primary, owner_auth
):
    insert(google, primary, "First", 1)
    await synced(primary)
    first = await open_stream(**owner_auth)
    insert(google, primary, "Second", 2)
    await synced(primary)
    seen = await next_batch(first)
    await first.disconnect()

    insert(google, primary, "Third", 3)
    await synced(primary)
    insert(google, primary, "Fourth", 4)
    await synced(primary)
    again = await open_stream(**{**owner_auth, "Last-Event-ID": seen.id})
    replayed = [await next_batch(again), await next_batch(again)]
    insert(google, primary, "Fifth", 5)
    await synced(primary)
    live = await next_batch(again)

    summaries = [
        event["summary"]
        for batch in [*replayed, live]
        for event in batch.json["events"]
    ]
    assert summaries == ["Third", "Fourth", "Fifth"]
    cursors = [int(batch.id) for batch in [seen, *replayed, live]]
    assert cursors == sorted(set(cursors))
    await again.disconnect()


async def test_without_last_event_id_the_stream_starts_from_now(
    google, primary, owner_auth
):
    insert(google, primary, "Old news")
    await synced(primary)

    response = await open_stream(**owner_auth)
    insert(google, primary, "Fresh", 2)
    await synced(primary)
    batch = await next_batch(response)

    assert [event["summary"] for event in batch.json["events"]] == ["Fresh"]
    await response.disconnect()


async def test_a_title_with_newlines_and_sse_fields_is_one_message(
    google, primary, owner_auth
):
    response = await open_stream(**owner_auth)
    hostile = "line one\nevent: x\ndata: {}\n\nid: 999"
    insert(google, primary, hostile)

    await synced(primary)
    batch = await next_batch(response)

    assert batch.event == "events"
    assert batch.json["events"][0]["summary"] == hostile
    await response.disconnect()


async def test_other_users_changes_never_reach_the_stream(
    google, primary, owner_auth, outsider_auth
):
    response = await open_stream(**outsider_auth)
    insert(google, primary, "Private")

    await synced(primary)

    with pytest.raises(TimeoutError):
        while True:
            message = await response.next_message(timeout=1)
            assert message.event != "events"
    await response.disconnect()


async def test_a_malformed_last_event_id_gets_400(owner_auth):
    response = await get("/api/stream", **{**owner_auth, "Last-Event-ID": "soon"})

    assert response.status == 400


async def test_closing_the_page_releases_the_stream(owner_auth, primary):
    hub = await get_hub()
    response = await open_stream(**owner_auth)
    assert hub.stream_count == 1

    await response.disconnect()
    await asyncio.sleep(0)

    assert hub.stream_count == 0


async def test_a_batch_whose_message_was_lost_is_read_from_the_database(
    google, primary, owner_auth, monkeypatch
):
    response = await open_stream(**owner_auth)
    insert(google, primary, "Lost in transit")
    monkeypatch.setattr(publish, "publish_batch", lambda batch: None)

    await synced(primary)
    batch = await next_batch(response)

    assert [event["summary"] for event in batch.json["events"]] == ["Lost in transit"]
    await response.disconnect()


async def test_a_quiet_live_stream_sends_keep_alives(settings, primary, owner_auth):
    settings.SSE_KEEPALIVE_SECONDS = 0.2
    loop = asyncio.get_running_loop()
    response = await open_stream(**owner_auth)
    opened_at = loop.time()

    first = await response.next_message()
    second = await response.next_message()
    seconds = loop.time() - opened_at

    assert (first.comment, second.comment) == ("keep-alive", "keep-alive")
    # One keep-alive per interval of silence, not a flood and not a gap.
    assert 0.3 <= seconds <= 1.5
    await response.disconnect()


async def test_a_busy_live_stream_gets_no_keep_alive_between_batches(
    settings, google, primary, owner_auth
):
    settings.SSE_KEEPALIVE_SECONDS = 1
    loop = asyncio.get_running_loop()
    response = await open_stream(**owner_auth)
    opened_at = loop.time()

    frames = []
    for day in range(1, 9):
        insert(google, primary, f"Change {day}", day)
        await synced(primary)
        frames.append(await response.next_message())
        while frames[-1].event != "events":
            frames.append(await response.next_message())
        await asyncio.sleep(0.25)

    # Batches came more often than the interval, for longer than it.
    assert loop.time() - opened_at > 2
    assert "keep-alive" not in [frame.comment for frame in frames]
    await response.disconnect()
