"""Watch channels: made after the first sync, renewed early, stopped cleanly."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from googleapiclient.discovery import Resource

from calendars.models import Calendar, GoogleAccount, SyncState, WatchChannel
from emulator.server import EmulatorServer
from emulator.testing import control
from syncengine import dispatch
from syncengine.accounts import discover_calendars
from syncengine.google import GoogleSession
from tests.webhooks.conftest import UNREACHABLE_RECEIVER
from tests.webhooks.support import (
    api_calls,
    google_channels,
    notify,
    renew_before_expiry,
    reset_calls,
)
from webhooks import channels

pytestmark = pytest.mark.django_db(transaction=True)

WATCH = "calendar.events.watch"
STOP = "calendar.channels.stop"
LIST = "calendar.events.list"


def first_sync(calendar: Calendar) -> None:
    dispatch.request_sync(calendar.pk)
    dispatch.wait_for_embedded_tasks()


def live(calendar: Calendar) -> list[WatchChannel]:
    return list(
        calendar.watch_channels.filter(
            state__in=[WatchChannel.State.PENDING, WatchChannel.State.ACTIVE]
        )
    )


def test_the_first_successful_sync_watches_the_calendar(
    webhooks_on: str, primary: Calendar, emulator: EmulatorServer, settings: Any
) -> None:
    settings.WEBHOOK_CHANNEL_TTL_SECONDS = 3600

    first_sync(primary)

    channel = WatchChannel.objects.get(calendar=primary)
    at_google = google_channels(emulator)[channel.channel_id]
    assert channel.state == WatchChannel.State.ACTIVE
    assert channel.resource_id == at_google["resource_id"]
    assert channel.token == at_google["token"]
    assert len(channel.token) >= 43
    assert at_google["address"] == UNREACHABLE_RECEIVER + "/calendar/webhook"
    assert channel.expires_at is not None
    assert channel.expires_at.timestamp() * 1000 == at_google["expiration_ms"]
    expected_expiry = timezone.now() + timedelta(hours=1)
    assert abs(channel.expires_at - expected_expiry) < timedelta(minutes=1)
    assert api_calls(emulator, WATCH) == 1


def test_later_syncs_make_no_second_channel(
    watched: WatchChannel, emulator: EmulatorServer
) -> None:
    first_sync(watched.calendar)
    first_sync(watched.calendar)

    assert live(watched.calendar) == [watched]
    assert api_calls(emulator, WATCH) == 1


def test_without_a_webhook_address_no_calendar_is_watched(
    primary: Calendar, emulator: EmulatorServer
) -> None:
    first_sync(primary)

    assert not WatchChannel.objects.exists()
    assert api_calls(emulator, WATCH) == 0


def test_a_failed_sync_watches_nothing(
    webhooks_on: str, primary: Calendar, emulator: EmulatorServer
) -> None:
    fault = {"method": "calendar.events.list", "status": 403, "reason": "forbidden"}
    control(emulator, "faults", fault)

    first_sync(primary)

    assert SyncState.objects.get(calendar=primary).state == SyncState.State.ERROR
    assert api_calls(emulator, WATCH) == 0


def test_the_channel_is_saved_before_google_is_asked_to_watch(
    webhooks_on: str, primary: Calendar, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Google's first message can arrive before the watch call returns."""
    seen_during_watch: list[tuple[str, str]] = []
    execute = GoogleSession.execute

    def spying(session: GoogleSession, request: Any) -> dict[str, Any]:
        if request.methodId == WATCH:
            channel = WatchChannel.objects.get(calendar=primary)
            seen_during_watch.append((channel.channel_id, channel.state))
        return execute(session, request)

    monkeypatch.setattr(GoogleSession, "execute", spying)

    channel = channels.ensure_channel(primary.pk)

    assert channel is not None
    assert seen_during_watch == [(channel.channel_id, WatchChannel.State.PENDING)]


def test_a_channel_nearing_expiry_is_replaced_and_then_stopped(
    watched: WatchChannel, emulator: EmulatorServer
) -> None:
    renewed = renew_before_expiry(watched)

    old = WatchChannel.objects.get(pk=watched.pk)
    new = WatchChannel.objects.get(calendar=watched.calendar, state="active")
    assert [channel.pk for channel in renewed] == [new.pk]
    assert new.channel_id != old.channel_id
    assert new.token != old.token
    assert old.state == WatchChannel.State.STOPPED
    assert old.replaced_by == new
    assert set(google_channels(emulator)) == {new.channel_id}
    assert api_calls(emulator, STOP) == 1


def test_a_channel_far_from_expiry_is_left_alone(
    watched: WatchChannel, emulator: EmulatorServer, settings: Any
) -> None:
    assert watched.expires_at is not None
    buffer = timedelta(hours=settings.WEBHOOK_CHANNEL_BUFFER_HOURS)

    renewed = channels.renew_channels(now=watched.expires_at - buffer * 2)

    assert renewed == []
    assert live(watched.calendar) == [watched]
    assert api_calls(emulator, WATCH) == 1


def test_both_channels_are_accepted_while_they_overlap(
    client: Client, watched: WatchChannel, emulator: EmulatorServer
) -> None:
    control(emulator, "faults", {"method": STOP, "latency_ms": 3000})
    reset_calls(emulator)
    renewal = threading.Thread(target=renew_before_expiry, args=[watched])
    renewal.start()
    try:
        new = wait_for_replacement(watched)
        on_old = notify(client, watched)
        syncs_after_old = api_calls(emulator, LIST)
        on_new = notify(client, new)
        syncs_after_new = api_calls(emulator, LIST)
        overlapped = renewal.is_alive()
    finally:
        renewal.join()
    after_stop = notify(client, watched)

    assert overlapped
    assert (on_old.status_code, on_new.status_code) == (200, 200)
    assert (syncs_after_old, syncs_after_new) == (1, 2)
    assert after_stop.status_code == 200
    assert api_calls(emulator, LIST) == 2


def wait_for_replacement(old: WatchChannel) -> WatchChannel:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        new = WatchChannel.objects.filter(
            replaces=old, state=WatchChannel.State.ACTIVE
        ).first()
        if new is not None:
            return new
        time.sleep(0.02)
    raise AssertionError("no replacement channel appeared")


@pytest.mark.parametrize(
    ("status", "reason"),
    [(400, "pushNotSupportedForRequestedResource"), (404, "notFound")],
)
def test_a_calendar_google_will_not_watch_relies_on_the_periodic_sync(
    webhooks_on: str,
    primary: Calendar,
    emulator: EmulatorServer,
    status: int,
    reason: str,
) -> None:
    fault = {"method": WATCH, "status": status, "reason": reason}
    control(emulator, "faults", fault)

    first_sync(primary)
    first_sync(primary)

    primary.refresh_from_db()
    assert primary.push_supported is False
    assert not WatchChannel.objects.exists()
    assert not channels.needs_channel(primary.pk)
    assert api_calls(emulator, WATCH) == 1


def test_a_renewal_google_refused_leaves_the_old_channel_for_the_next_beat(
    watched: WatchChannel, emulator: EmulatorServer
) -> None:
    control(emulator, "faults", {"method": WATCH, "status": 500, "count": 5})

    assert renew_before_expiry(watched) == []
    watched.refresh_from_db()
    assert watched.state == WatchChannel.State.ACTIVE
    assert watched.replaced_by is None
    assert live(watched.calendar) == [watched]

    assert len(renew_before_expiry(watched)) == 1


def test_an_account_needing_reauthorisation_makes_no_calls_and_drops_channels(
    watched: WatchChannel, emulator: EmulatorServer
) -> None:
    GoogleAccount.objects.update(status=GoogleAccount.Status.NEEDS_REAUTH)
    reset_calls(emulator)

    renewed = renew_before_expiry(watched)
    channels.stop_channels(watched.calendar)

    watched.refresh_from_db()
    assert renewed == []
    assert watched.state == WatchChannel.State.STOPPED
    assert control(emulator, "stats", method="GET")["total"] == 0


def test_a_grant_dying_during_renewal_keeps_the_old_channel_until_tidied(
    watched: WatchChannel, emulator: EmulatorServer
) -> None:
    control(emulator, f"accounts/{watched.calendar.account.email}/revoke")
    control(emulator, "expire-access-tokens")

    assert renew_before_expiry(watched) == []
    channels.tidy_channels()

    watched.refresh_from_db()
    assert watched.state == WatchChannel.State.STOPPED
    assert WatchChannel.objects.count() == 1


def test_expired_channels_are_marked_stopped(watched: WatchChannel) -> None:
    assert watched.expires_at is not None

    channels.tidy_channels(now=watched.expires_at + timedelta(seconds=1))

    watched.refresh_from_db()
    assert watched.state == WatchChannel.State.STOPPED
    assert channels.needs_channel(watched.calendar_id)


def test_a_channel_left_pending_by_a_crashed_worker_is_given_up(
    webhooks_on: str, primary: Calendar
) -> None:
    channel = WatchChannel.objects.create(calendar=primary, channel_id="c", token="t")
    assert not channels.needs_channel(primary.pk)

    channels.tidy_channels(now=timezone.now() + timedelta(minutes=11))

    channel.refresh_from_db()
    assert channel.state == WatchChannel.State.STOPPED
    assert channels.needs_channel(primary.pk)


def test_long_stopped_channels_are_purged(watched: WatchChannel) -> None:
    WatchChannel.objects.update(state=WatchChannel.State.STOPPED)

    channels.tidy_channels(now=timezone.now() + timedelta(days=8))

    assert not WatchChannel.objects.exists()


def test_stopping_a_calendars_channels_stops_them_at_google(
    watched: WatchChannel, emulator: EmulatorServer
) -> None:
    stopped = channels.stop_channels(watched.calendar)

    watched.refresh_from_db()
    assert stopped == 1
    assert watched.state == WatchChannel.State.STOPPED
    assert google_channels(emulator) == {}
    assert channels.stop_channels(watched.calendar) == 0


def test_a_channel_stopped_while_google_answers_the_watch_is_stopped_there_too(
    webhooks_on: str,
    primary: Calendar,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    execute = GoogleSession.execute

    def deselected_meanwhile(session: GoogleSession, request: Any) -> dict[str, Any]:
        answer = execute(session, request)
        if request.methodId == WATCH:
            channels.stop_channels(primary, session=session)
        return answer

    monkeypatch.setattr(GoogleSession, "execute", deselected_meanwhile)

    assert channels.ensure_channel(primary.pk) is None
    assert google_channels(emulator) == {}
    assert WatchChannel.objects.get().state == WatchChannel.State.STOPPED


def test_disconnecting_an_account_stops_its_channels_then_deletes_it(
    watched: WatchChannel, emulator: EmulatorServer
) -> None:
    channels.disconnect_account(watched.calendar.account)

    assert google_channels(emulator) == {}
    assert api_calls(emulator, STOP) == 1
    assert not GoogleAccount.objects.exists()
    assert not Calendar.objects.exists()
    assert not WatchChannel.objects.exists()


def test_a_calendar_gone_from_google_has_its_channels_stopped_first(
    webhooks_on: str,
    connected: GoogleAccount,
    google: Resource,
    emulator: EmulatorServer,
) -> None:
    created = google.calendars().insert(body={"summary": "Team"}).execute()
    team = discover_calendars(connected)
    team_calendar = Calendar.objects.get(google_id=created["id"])
    team_calendar.selected = True
    team_calendar.save()
    assert channels.ensure_channel(team_calendar.pk) is not None
    assert len(team) == 2
    reset_calls(emulator)
    google.calendarList().delete(calendarId=created["id"]).execute()

    discover_calendars(connected)

    assert api_calls(emulator, STOP) == 1
    assert not Calendar.objects.filter(google_id=created["id"]).exists()
