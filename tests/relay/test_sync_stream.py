"""The sync stream, driven through the real ASGI application."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from calendars.models import Event
from emulator.testing import control
from syncengine.accounts import discover_calendars
from syncengine.relay import get_hub
from tests.asgi import get
from tests.googleside import timed

pytestmark = pytest.mark.django_db(transaction=True)


def stored_ids() -> set[str]:
    return set(Event.objects.values_list("google_id", flat=True))


def fill(google, calendar, count: int, prefix: str = "Event") -> None:
    for index in range(count):
        start = f"2026-12-{1 + index % 27:02d}T09:00:00Z"
        body = timed(f"{prefix} {index}", start, start)
        google.events().insert(calendarId=calendar.google_id, body=body).execute()


@pytest.fixture
def second(google, connected):
    created = google.calendars().insert(body={"summary": "Team"}).execute()
    discover_calendars(connected)
    return connected.calendars.get(google_id=created["id"])


async def test_the_sync_stream_relays_batches_then_tokens_then_complete(
    google, primary, second, owner_auth
):
    fill(google, primary, 3)
    fill(google, second, 2)
    ids = f"{primary.pk},{second.pk}"

    response = await get("/api/calendar/sync", f"calendar_ids={ids}", **owner_auth)
    messages = await response.messages_until("complete")
    remainder = await response.body()

    assert response.status == 200
    assert response.response_headers["content-type"] == "text/event-stream"
    assert response.response_headers["cache-control"] == "no-cache"
    assert response.response_headers["x-accel-buffering"] == "no"
    events = [m for m in messages if m.event == "events"]
    assert {m.json["calendar_id"] for m in events} == {primary.pk, second.pk}
    assert all(m.json["type"] == "events" for m in events)
    cursors = [int(m.id or 0) for m in events]
    assert cursors == sorted(cursors)
    received = {e["id"] for m in events for e in m.json["events"]}
    stored = await sync_to_async(stored_ids)()
    assert received == stored and len(received) == 5
    tokens = [m.json for m in messages if m.event == "sync_token"]
    assert sorted(t["calendar_id"] for t in tokens) == sorted([primary.pk, second.pk])
    assert all(
        t == {"type": "sync_token", "calendar_id": t["calendar_id"]} for t in tokens
    )
    complete = messages[-1].json
    assert complete["type"] == "complete"
    assert complete["total_events"] == 5
    assert complete["last_sync_at"]
    assert remainder == b""
    assert response.ended


async def test_a_failed_calendar_is_reported_and_the_stream_still_completes(
    emulator, primary, owner_auth
):
    fault = {"method": "calendar.events.list", "status": 403, "reason": "forbidden"}
    control(emulator, "faults", {**fault, "count": 1})

    response = await get(
        "/api/calendar/sync", f"calendar_ids={primary.pk}", **owner_auth
    )
    messages = await response.messages_until("complete")

    errors = [m.json for m in messages if m.event == "sync_error"]
    assert errors == [
        {
            "type": "sync_error",
            "calendar_id": primary.pk,
            "code": 403,
            "message": errors[0]["message"],
            "retryable": False,
        }
    ]
    assert "403" in errors[0]["message"]
    assert messages[-1].json["total_events"] == 0


async def test_a_sync_that_runs_too_long_ends_with_a_timeout(
    settings, emulator, primary, owner_auth
):
    settings.MAX_SYNC_DURATION_SECONDS = 0.5
    control(emulator, "faults", {"method": "calendar.events.list", "latency_ms": 1500})

    response = await get(
        "/api/calendar/sync", f"calendar_ids={primary.pk}", **owner_auth
    )
    messages = await response.messages_until("sync_error")
    await response.body()

    assert messages[-1].json == {
        "type": "sync_error",
        "calendar_id": None,
        "code": 408,
        "message": "Sync timed out",
        "retryable": True,
    }
    assert response.ended


async def test_a_quiet_stream_sends_keep_alives(
    settings, emulator, primary, owner_auth
):
    settings.SSE_KEEPALIVE_SECONDS = 0.2
    control(emulator, "faults", {"method": "calendar.events.list", "latency_ms": 800})

    response = await get(
        "/api/calendar/sync", f"calendar_ids={primary.pk}", **owner_auth
    )
    first = await response.next_message()
    second = await response.next_message()

    assert first.event == "retry"
    assert second.comment == "keep-alive"
    await response.disconnect()


async def test_a_second_sync_within_the_rate_limit_gets_429(
    settings, primary, owner_auth
):
    settings.SYNC_RATE_LIMIT_SECONDS = 30
    first = await get("/api/calendar/sync", f"calendar_ids={primary.pk}", **owner_auth)

    again = await get("/api/calendar/sync", f"calendar_ids={primary.pk}", **owner_auth)

    assert again.status == 429
    assert 1 <= int(again.response_headers["retry-after"]) <= 30
    assert "try again" in (await again.json())["detail"]
    await first.disconnect()


@pytest.mark.parametrize("ids", ["a,b", "1,,2", "-3", ""])
async def test_malformed_calendar_ids_get_400(ids, owner_auth):
    response = await get("/api/calendar/sync", f"calendar_ids={ids}", **owner_auth)

    assert response.status == 400
    assert "calendar_ids" in (await response.json())["detail"]


async def test_too_many_calendars_get_400(settings, primary, owner_auth):
    settings.MAX_CALENDARS_PER_SYNC = 2
    ids = ",".join(str(primary.pk + offset) for offset in range(3))

    response = await get("/api/calendar/sync", f"calendar_ids={ids}", **owner_auth)

    assert response.status == 400
    assert "At most 2 calendars" in (await response.json())["detail"]


async def test_another_users_calendar_gets_404_like_a_missing_one(
    primary, outsider_auth
):
    foreign = await get(
        "/api/calendar/sync", f"calendar_ids={primary.pk}", **outsider_auth
    )
    missing = await get("/api/calendar/sync", "calendar_ids=999999", **outsider_auth)

    assert foreign.status == missing.status == 404
    assert (await foreign.json())["detail"] == f"No calendar with id {primary.pk}."


async def test_a_stream_needs_a_signed_in_caller(primary):
    response = await get("/api/calendar/sync", f"calendar_ids={primary.pk}")

    assert response.status == 401
    assert "Sign in" in (await response.json())["detail"]


async def test_a_client_that_disconnects_releases_its_subscription(
    emulator, primary, owner_auth
):
    control(emulator, "faults", {"method": "calendar.events.list", "latency_ms": 1000})
    hub = await get_hub()
    response = await get(
        "/api/calendar/sync", f"calendar_ids={primary.pk}", **owner_auth
    )
    await response.next_message()
    assert hub.stream_count == 1

    await response.disconnect()

    assert hub.stream_count == 0
