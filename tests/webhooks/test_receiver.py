"""The receiver verifies Google's notifications and only asks for syncs."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from calendars.models import Calendar, GoogleAccount, SyncState, WatchChannel
from emulator.server import EmulatorServer
from syncengine import dispatch
from tests.webhooks.support import (
    api_calls,
    notification_headers,
    notify,
)
from webhooks.views import handle_notification

pytestmark = pytest.mark.django_db(transaction=True)

LIST = "calendar.events.list"


def syncs_run(emulator: EmulatorServer, calendar: Calendar) -> int:
    calls = api_calls(emulator, LIST)
    assert SyncState.objects.get(calendar=calendar).state == SyncState.State.IDLE
    return calls


def test_a_change_notification_asks_for_a_sync(
    client: Client, channel: WatchChannel, emulator: EmulatorServer
) -> None:
    response = notify(client, channel)

    assert response.status_code == 200
    assert response.json() == {}
    assert syncs_run(emulator, channel.calendar) == 1


def test_the_first_message_of_a_channel_asks_for_nothing(
    client: Client, channel: WatchChannel, emulator: EmulatorServer
) -> None:
    response = notify(client, channel, state="sync")

    assert response.status_code == 200
    assert syncs_run(emulator, channel.calendar) == 0


def test_a_notification_without_a_channel_id_is_a_bad_request(
    client: Client, channel: WatchChannel, emulator: EmulatorServer
) -> None:
    response = notify(client, channel, X_Goog_Channel_ID=None)

    assert response.status_code == 400
    assert "X-Goog-Channel-ID" in response.json()["error"]
    assert syncs_run(emulator, channel.calendar) == 0


def test_an_unknown_channel_is_acknowledged_and_ignored(
    client: Client,
    channel: WatchChannel,
    emulator: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="webhooks.views"):
        response = notify(client, channel, X_Goog_Channel_ID="not-ours")

    assert response.status_code == 200
    assert response.json() == {}
    assert "not-ours" in caplog.text
    assert syncs_run(emulator, channel.calendar) == 0


def test_a_stopped_channel_is_acknowledged_and_ignored(
    client: Client, channel: WatchChannel, emulator: EmulatorServer
) -> None:
    WatchChannel.objects.filter(pk=channel.pk).update(state=WatchChannel.State.STOPPED)

    response = notify(client, channel)

    assert response.status_code == 200
    assert syncs_run(emulator, channel.calendar) == 0


@pytest.mark.parametrize(
    "token", [None, "", "wrong-token", "channel-secret-token-but-longer", "é"]
)
def test_a_notification_with_a_wrong_token_is_refused(
    client: Client,
    channel: WatchChannel,
    emulator: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
    token: str | None,
) -> None:
    with caplog.at_level(logging.INFO, logger="webhooks.views"):
        response = notify(client, channel, X_Goog_Channel_Token=token)

    assert response.status_code == 401
    assert channel.channel_id in caplog.text
    assert "channel-secret-token" not in caplog.text
    assert syncs_run(emulator, channel.calendar) == 0


@pytest.mark.parametrize("resource_id", [None, "", "resource-of-another"])
def test_a_notification_about_another_resource_is_refused(
    client: Client,
    channel: WatchChannel,
    emulator: EmulatorServer,
    resource_id: str | None,
) -> None:
    response = notify(client, channel, X_Goog_Resource_ID=resource_id)

    assert response.status_code == 401
    assert syncs_run(emulator, channel.calendar) == 0


def test_a_channel_whose_watch_call_has_not_returned_is_accepted(
    client: Client, channel: WatchChannel, emulator: EmulatorServer
) -> None:
    WatchChannel.objects.filter(pk=channel.pk).update(
        state=WatchChannel.State.PENDING, resource_id=""
    )

    first = notify(client, channel, state="sync", X_Goog_Resource_ID="anything")
    change = notify(client, channel, X_Goog_Resource_ID="anything")

    assert (first.status_code, change.status_code) == (200, 200)
    assert syncs_run(emulator, channel.calendar) == 1


def test_a_channel_of_an_account_needing_reauthorisation_asks_for_nothing(
    client: Client, channel: WatchChannel, emulator: EmulatorServer
) -> None:
    GoogleAccount.objects.update(status=GoogleAccount.Status.NEEDS_REAUTH)

    response = notify(client, channel)

    assert response.status_code == 200
    assert syncs_run(emulator, channel.calendar) == 0


def test_an_unreachable_queue_answers_503_so_that_google_retries(
    client: Client,
    channel: WatchChannel,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise dispatch.QueueUnavailable("ConnectionError")

    monkeypatch.setattr(dispatch, "enqueue", broker_down)

    response = notify(client, channel)

    assert response.status_code == 503
    assert "retry" in response.json()["error"]
    assert syncs_run(emulator, channel.calendar) == 0


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_the_receiver_only_takes_post(
    client: Client, channel: WatchChannel, method: str
) -> None:
    response = getattr(client, method)(reverse("calendar-webhook"))

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "POST" in response.json()["error"]


def test_the_receiver_needs_no_csrf_token(
    channel: WatchChannel, emulator: EmulatorServer
) -> None:
    client = Client(enforce_csrf_checks=True)

    response = notify(client, channel)

    assert response.status_code == 200
    assert syncs_run(emulator, channel.calendar) == 1


def test_verifying_a_notification_takes_one_query(
    rf: RequestFactory,
    channel: WatchChannel,
    django_assert_num_queries: Any,
) -> None:
    # The view runs this on the shared pool; here it runs on the thread whose
    # queries are counted.
    url = reverse("calendar-webhook")
    first = notification_headers(channel, state="sync")
    forged = notification_headers(channel, X_Goog_Channel_Token="wrong")

    with django_assert_num_queries(1):
        assert handle_notification(rf.post(url, headers=first)).status_code == 200
    with django_assert_num_queries(1):
        assert handle_notification(rf.post(url, headers=forged)).status_code == 401
