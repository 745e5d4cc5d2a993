"""``events.watch`` and ``channels.stop``: Google's push notifications."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import pytest
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

from emulator.server import EmulatorServer
from emulator.testing import control
from tests.emulator.conftest import ALICE, Receiver, timed_event


def watch(
    service: Resource, receiver: Receiver, channel_id: str, ttl: str = "3600"
) -> dict[str, str]:
    body = {
        "id": channel_id,
        "type": "web_hook",
        "address": receiver.url,
        "token": "secret-token",
        "params": {"ttl": ttl},
    }
    return dict(service.events().watch(calendarId="primary", body=body).execute())


def insert_one(service: Resource) -> None:
    body = timed_event("Lunch", "2026-12-03T12:00:00Z", "2026-12-03T13:00:00Z")
    service.events().insert(calendarId="primary", body=body).execute()


def test_watch_answers_with_a_channel_resource(
    alice: Resource, receiver: Receiver
) -> None:
    before_ms = time.time() * 1000

    channel = watch(alice, receiver, "channel-1")

    assert channel["kind"] == "api#channel"
    assert channel["id"] == "channel-1"
    assert channel["resourceId"]
    assert ALICE in channel["resourceUri"]
    assert channel["token"] == "secret-token"
    assert before_ms + 3600_000 <= int(channel["expiration"]) <= before_ms + 3601_000


def test_watch_sends_sync_then_exists_with_googles_headers(
    alice: Resource, receiver: Receiver
) -> None:
    channel = watch(alice, receiver, "channel-1")
    sync = receiver.next()
    insert_one(alice)
    exists = receiver.next()

    assert sync["x-goog-resource-state"] == "sync"
    assert sync["x-goog-message-number"] == "1"
    assert exists["x-goog-resource-state"] == "exists"
    assert int(exists["x-goog-message-number"]) > 1
    assert exists["x-goog-channel-id"] == "channel-1"
    assert exists["x-goog-channel-token"] == "secret-token"
    assert exists["x-goog-resource-id"] == channel["resourceId"]
    assert exists["x-goog-resource-uri"] == channel["resourceUri"]
    expiration = parsedate_to_datetime(exists["x-goog-channel-expiration"])
    assert int(expiration.timestamp()) == int(channel["expiration"]) // 1000


def test_no_messages_arrive_after_channels_stop(
    alice: Resource, receiver: Receiver
) -> None:
    channel = watch(alice, receiver, "channel-1")
    receiver.next()

    alice.channels().stop(
        body={"id": channel["id"], "resourceId": channel["resourceId"]}
    ).execute()
    insert_one(alice)

    assert receiver.silent_for(0.3)


def test_no_messages_arrive_after_expiration(
    alice: Resource, receiver: Receiver
) -> None:
    watch(alice, receiver, "short-lived", ttl="1")
    receiver.next()
    time.sleep(1.05)

    insert_one(alice)

    assert receiver.silent_for(0.3)


def test_duplicate_channel_id_is_refused(alice: Resource, receiver: Receiver) -> None:
    watch(alice, receiver, "channel-1")

    with pytest.raises(HttpError) as caught:
        watch(alice, receiver, "channel-1")

    assert caught.value.resp.status == 400
    assert caught.value.error_details[0]["reason"] == "channelIdNotUnique"


def test_stopping_an_unknown_channel_succeeds(alice: Resource) -> None:
    answer = alice.channels().stop(body={"id": "nope", "resourceId": "nope"}).execute()

    assert not answer


def test_receiver_errors_are_retried_until_delivered(
    alice: Resource, receiver: Receiver
) -> None:
    receiver.statuses.extend([503, 500])

    watch(alice, receiver, "channel-1")

    assert receiver.next()["x-goog-resource-state"] == "sync"


def test_seeding_a_watched_calendar_notifies_its_channels(
    emulator: EmulatorServer, alice: Resource, receiver: Receiver
) -> None:
    watch(alice, receiver, "channel-1")
    receiver.next()

    control(emulator, "churn", {"count": 1, "seed": 3})

    assert receiver.next()["x-goog-resource-state"] == "exists"
    channels = control(emulator, "channels", method="GET")["channels"]
    assert channels[0]["id"] == "channel-1"
