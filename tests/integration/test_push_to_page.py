"""A change made in Google reaches the open page of its owner, by push."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from calendars.models import WatchChannel
from syncengine import dispatch
from syncengine.relay import stop_hub
from tests.asgi import get
from tests.googleside import timed
from tests.integration.conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def active_channel_exists(calendar_pk: int) -> bool:
    return WatchChannel.objects.filter(
        calendar_id=calendar_pk, state=WatchChannel.State.ACTIVE
    ).exists()


@pytest.fixture
def watched_calendar(
    settings, live_server, google, primary, worker_environment, start_worker
):
    """The primary calendar, synced once by a worker and watched."""
    settings.WEBHOOK_BASE_URL = live_server.url
    worker_environment["WEBHOOK_BASE_URL"] = live_server.url
    body = timed("Standup", "2026-12-01T09:00:00Z", "2026-12-01T09:15:00Z")
    event = google.events().insert(calendarId="primary", body=body).execute()
    start_worker()
    dispatch.request_sync(primary.pk)
    wait_until(
        lambda: active_channel_exists(primary.pk),
        timeout=30,
        what="a watch channel after the first sync",
    )
    return primary, event


async def test_an_event_patched_in_google_arrives_on_the_open_live_stream(
    watched_calendar, google, owner_auth
):
    calendar, event = watched_calendar
    try:
        stream = await get("/api/stream", **owner_auth)
        # The first frame comes once the stream has subscribed.
        assert (await stream.next_message()).event == "retry"
        await sync_to_async(
            google.events()
            .patch(calendarId="primary", eventId=event["id"], body={"summary": "Moved"})
            .execute
        )()
        while True:
            message = await stream.next_message(timeout=15)
            if message.event == "events":
                break
        await stream.disconnect()
    finally:
        await stop_hub()

    assert message.json["calendar_id"] == calendar.pk
    assert [(e["id"], e["summary"]) for e in message.json["events"]] == [
        (event["id"], "Moved")
    ]
